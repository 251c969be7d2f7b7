"""One audio connection's Transcribe stream: a chain of service streams, rotated at pauses.

Rotation (see :mod:`.rotation` for when): the current service stream gets its end of
audio and finalizes what it heard; the next one is opened meanwhile, and audio arriving during
the switch is buffered and sent to it. Every byte of audio goes to exactly one service stream,
and each stream's times are offset by the audio sent before it, so no caption text is lost or
doubled and times continue. Results are read leg after leg, in order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Protocol

from edge_server.core.engine_api import EngineError, Hypothesis
from edge_server.engines.aws.errors import CloudEngineError
from edge_server.engines.transcribe.client import classify
from edge_server.engines.transcribe.leg import Leg
from edge_server.engines.transcribe.options import StreamPlan, TranscribeOptions
from edge_server.engines.transcribe.rotation import (
    RotationPolicy,
    RotationReason,
    SilenceMeter,
    StreamAge,
    rotation_due,
)

log = logging.getLogger(__name__)


class LegSource(Protocol):
    """What a stream needs of its recognizer: the options, a way to open a service stream, and a
    counter of the audio sent (for costs). :class:`~.recognizer.TranscribeRecognizer` is one."""

    options: TranscribeOptions
    audio_bytes: int

    async def open_leg(self, plan: StreamPlan, offset_s: float) -> Leg:
        """Open one service stream whose times start at ``offset_s``."""
        ...

    def vocabulary_names(self, plan: StreamPlan) -> tuple[str, ...]:
        """The custom vocabularies a service stream of ``plan`` opened now would use."""
        ...


class TranscribeStream:
    """One audio connection's stream: a chain of service streams, rotated at pauses."""

    def __init__(self, recognizer: LegSource, plan: StreamPlan) -> None:
        options = recognizer.options
        self._recognizer = recognizer
        self._plan = plan
        self._policy = RotationPolicy(
            options.rotate_after_s, options.rotate_max_wait_s, options.pause_silence_s
        )
        self._silence = SilenceMeter(options.silence_dbfs)
        self._legs: asyncio.Queue[Leg | CloudEngineError | None] = asyncio.Queue()
        self._all_legs: list[Leg] = []
        self._current: Leg | None = None
        self._switch: asyncio.Task[None] | None = None
        self._pending: list[bytes] = []
        self._finished = False
        self._error: CloudEngineError | None = None
        self.rotations: list[RotationReason] = []
        """Why each rotation happened, in order."""

    async def start(self) -> None:
        """Open the first service stream."""
        self._add_leg(await self._recognizer.open_leg(self._plan, 0.0))

    def _add_leg(self, leg: Leg) -> None:
        self._all_legs.append(leg)
        self._legs.put_nowait(leg)

    async def send_audio(self, pcm: bytes) -> None:
        """Feed 16 kHz mono s16le audio (buffered while a rotation opens the next stream)."""
        if self._error is not None:
            raise self._error
        if self._finished:
            raise EngineError("the Transcribe stream is already finished")
        self._recognizer.audio_bytes += len(pcm)
        if self._switch is not None:
            self._pending.append(pcm)
            self._silence.update(pcm)
            return
        leg = self._current_leg()
        if leg.error is not None:
            raise leg.error
        age = StreamAge(
            wall_s=time.monotonic() - leg.opened_at,
            audio_s=leg.audio_s,
            last_result_final=leg.last_result_final,
            trailing_silence_s=self._silence.trailing_s,
            vocabulary_changed=self._recognizer.vocabulary_names(self._plan)
            != leg.vocabulary_names,
        )
        self._silence.update(pcm)
        reason = rotation_due(self._policy, age)
        if reason is not None:
            self._pending = [pcm]
            self._switch = asyncio.create_task(self._rotate(leg, reason), name="transcribe-rotate")
            return
        await leg.send(pcm)

    def _current_leg(self) -> Leg:
        assert self._current is not None or self._all_legs, "start() was not awaited"
        if self._current is None:
            self._current = self._all_legs[-1]
        return self._current

    async def _rotate(self, old: Leg, reason: RotationReason) -> None:
        offset = old.offset_s + old.audio_s
        log.info(
            "Transcribe stream rotated %s, at an age of %.0f s (audio continues at %.1f s)",
            reason.value,
            max(time.monotonic() - old.opened_at, old.audio_s),
            offset,
        )
        try:
            await old.end()
            leg = await self._recognizer.open_leg(self._plan, offset)
        except Exception as exc:
            error = classify(exc)
            self._error = error
            self._legs.put_nowait(error)
            self._pending.clear()
            self._switch = None
            return
        self._add_leg(leg)
        self.rotations.append(reason)
        while self._pending:
            chunk = self._pending.pop(0)
            try:
                await leg.send(chunk)
            except CloudEngineError:
                self._pending.clear()
        self._current = leg
        self._switch = None

    async def finish(self) -> None:
        """End of audio: the last service stream finalizes, then :meth:`results` ends."""
        if self._finished:
            return
        self._finished = True
        if self._switch is not None:
            await self._switch
        if self._error is None and self._all_legs:
            await self._current_leg().end()
        self._legs.put_nowait(None)

    async def results(self) -> AsyncIterator[Hypothesis]:
        """Hypotheses of every service stream in order; raises CloudEngineError on failure."""
        try:
            while True:
                leg = await self._legs.get()
                if leg is None:
                    return
                if isinstance(leg, CloudEngineError):
                    raise leg
                while True:
                    item = await leg.items.get()
                    if item is None:
                        break
                    if isinstance(item, CloudEngineError):
                        raise item
                    yield item
        except BaseException as exc:
            if isinstance(exc, CloudEngineError):
                self._error = exc
            self.close()
            raise

    def close(self) -> None:
        """Abandon every service stream (after a failure, or when the room gives up)."""
        self._finished = True
        if self._switch is not None:
            self._switch.cancel()
        for leg in self._all_legs:
            leg.close()

    async def wait_closed(self, grace_s: float = 3.0) -> None:
        """Wait (at most ``grace_s``) until every service stream's results have ended."""
        for leg in self._all_legs:
            await leg.wait_done(grace_s)

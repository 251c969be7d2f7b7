"""One Transcribe service stream ("leg") inside a recognizer stream.

A recognizer stream is a chain of legs: rotation before the 4-hour limit ends one and opens
the next. A leg owns its request body, a task that turns the service's events into
:class:`Hypothesis` objects (times shifted by the leg's offset) and a queue the recognizer
stream reads them from, ending with ``None`` after an optional :class:`CloudEngineError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from amazon_transcribe.model import StartStreamTranscriptionEventStream, TranscriptEvent
from awscrt.exceptions import AwsCrtError  # type: ignore[import-untyped]

from edge_server.core.engine_api import Hypothesis
from edge_server.engines.aws.errors import (
    CloudEngineError,
    ServiceUnavailableError,
    timeout_error,
)
from edge_server.engines.transcribe.body import WaitingBody
from edge_server.engines.transcribe.client import SERVICE, classify
from edge_server.engines.transcribe.results import ResultConverter

log = logging.getLogger(__name__)

BYTES_PER_SECOND = 32000
FINISH_TIMEOUT_S = 15.0
"""After the end of audio, the service has this long to send its last results."""
FORCE_STOP_S = 2.0

LegItem = Hypothesis | CloudEngineError | None


class Leg:
    """A running service stream and the pump of its results."""

    def __init__(
        self,
        sdk_stream: StartStreamTranscriptionEventStream,
        body: WaitingBody,
        converter: ResultConverter,
        *,
        endpoint: str,
        stall_timeout_s: float,
        drop_connection: Callable[[], None],
    ) -> None:
        self.sdk = sdk_stream
        self.body = body
        self.converter = converter
        self.endpoint = endpoint
        self.stall_timeout_s = stall_timeout_s
        self._drop_connection = drop_connection
        self.opened_at = time.monotonic()
        self.audio_bytes = 0
        self.last_result_final: bool | None = None
        self.ended_by_us = False
        self.vocabulary_names: tuple[str, ...] = ()
        """The custom vocabularies this service stream was opened with."""
        self.error: CloudEngineError | None = None
        self.done = False
        self.items: asyncio.Queue[LegItem] = asyncio.Queue()
        self._timers: list[asyncio.TimerHandle] = []
        self._pump = asyncio.create_task(self._run(), name="transcribe-results")

    @property
    def offset_s(self) -> float:
        """Where this leg's audio starts on the recognizer stream's clock."""
        return self.converter.offset_s

    @property
    def audio_s(self) -> float:
        """Seconds of audio sent on this leg."""
        return self.audio_bytes / BYTES_PER_SECOND

    async def send(self, pcm: bytes) -> None:
        """Send one chunk of audio; raises the leg's error if it failed."""
        if self.error is not None:
            raise self.error
        if self.body.pending_age() > self.stall_timeout_s:
            self.fail(
                ServiceUnavailableError(
                    f"{SERVICE}: the connection to {self.endpoint} took no audio for "
                    f"{self.stall_timeout_s:g} s (network down?); will retry with backoff",
                    service=SERVICE,
                    code="Stalled",
                )
            )
        try:
            if self.error is None:
                await self.sdk.input_stream.send_audio_event(audio_chunk=pcm)
        except OSError:
            self.fail(self._unexpected_end())
        if self.error is not None:
            raise self.error
        self.audio_bytes += len(pcm)

    async def end(self) -> None:
        """End of audio for this leg: the service finalizes, then its results end."""
        if self.ended_by_us or self.done:
            return
        self.ended_by_us = True
        with contextlib.suppress(OSError):
            await self.sdk.input_stream.end_stream()  # type: ignore[no-untyped-call]
        loop = asyncio.get_running_loop()
        self._timers.append(loop.call_later(FINISH_TIMEOUT_S, self._finish_timeout))

    def fail(self, error: CloudEngineError) -> None:
        """Give up on this leg: close its body and connection, report ``error`` once."""
        if self.error is None:
            self.error = error
        if self.done:
            return
        self.body.close()
        self._drop_connection()
        loop = asyncio.get_running_loop()
        self._timers.append(loop.call_later(FORCE_STOP_S, self._force_stop))

    def close(self) -> None:
        """Abandon the leg: end our side now; its results end when the service ends its side,
        or are stopped after a grace period."""
        self.ended_by_us = True
        self.body.close()
        if self.done:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._force_stop()
            return
        self._timers.append(loop.call_later(FORCE_STOP_S, self._force_stop))

    async def wait_done(self, grace_s: float) -> None:
        """Wait (at most ``grace_s``) until the results task has ended."""
        if not self._pump.done():
            await asyncio.wait({self._pump}, timeout=grace_s)

    def _finish_timeout(self) -> None:
        if not self.done:
            self.fail(timeout_error(SERVICE, "the end of audio", FINISH_TIMEOUT_S, self.endpoint))

    def _force_stop(self) -> None:
        if not self.done:
            self._pump.cancel()
            self._stop()

    def _stop(self) -> None:
        if not self.done:
            self.done = True
            if self.error is not None:
                self.items.put_nowait(self.error)
            self.items.put_nowait(None)
        for timer in self._timers:
            timer.cancel()

    def _unexpected_end(self) -> CloudEngineError:
        return ServiceUnavailableError(
            f"{SERVICE}: the stream at {self.endpoint} ended unexpectedly (connection closed); "
            "will retry with backoff",
            service=SERVICE,
            code="StreamClosed",
        )

    async def _completion_error(self) -> CloudEngineError | None:
        response: Any = self.body.response
        if response is None:
            return None
        try:
            # Shielded: cancelling would cancel the runtime's own future (it completes it later).
            await asyncio.wait_for(asyncio.shield(response.done), 1.0)
        except TimeoutError:
            return None
        except AwsCrtError as exc:
            return classify(exc, self.endpoint)
        return None

    async def _run(self) -> None:
        error: CloudEngineError | None = None
        try:
            async for event in self.sdk.output_stream:
                if not isinstance(event, TranscriptEvent):
                    continue
                for result in event.transcript.results:
                    hyp = self.converter.convert(result)
                    if hyp is None:
                        continue
                    if hyp.text or hyp.is_final:
                        self.last_result_final = hyp.is_final
                    self.items.put_nowait(hyp)
            error = await self._completion_error()
            if error is None and not self.ended_by_us:
                error = self._unexpected_end()
        except Exception as exc:
            error = classify(exc, self.endpoint)
        if error is not None:
            log.warning("%s", error)
            self.fail(error)
        self.body.close()
        self._stop()

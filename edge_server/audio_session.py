"""One audio connection's trip through a room: the source's facts and the recognizer stream.

:class:`AudioSession` feeds the room's recognizer, turns its results into captions (via
:class:`CaptionTracker`) and hands finals to the room to store and publish. It reports a
recognizer failure at once, and finalizes what it received even when its connection vanished.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from edge_server.audio_protocol import BYTES_PER_SECOND, ErrorCode, ProtocolError, SignalLevel
from edge_server.captions import CaptionTracker
from edge_server.engines.base import (
    EngineError,
    Recognizer,
    RecognizerStream,
    UnsupportedLanguage,
)
from edge_server.latency import ArrivalClock

if TYPE_CHECKING:
    from edge_server.room import Room

log = logging.getLogger(__name__)

FinalCallback = Callable[[dict[str, Any]], Awaitable[None]]
FailureCallback = Callable[[EngineError], Coroutine[Any, Any, None]]
FINISH_TIMEOUT_S = 60.0


@dataclass
class SourceInfo:
    """The audio source currently connected to a room."""

    session: str
    client_name: str
    client_version: str
    language: str
    remote: str
    device: str = ""
    connected_at: float = field(default_factory=time.monotonic)
    last_frame_at: float | None = None
    audio_bytes: int = 0
    finals: int = 0
    signal: SignalLevel | None = None
    """The node's last ``level`` report."""
    gaps: int = 0
    """How many times the node reported a gap (it reconnected after being away)."""
    dropped_s: float = 0.0
    """Seconds of audio the node reported dropping while away."""
    abort: Callable[[], None] | None = field(default=None, repr=False)
    """Drops this source's connection at once (to let the same node reconnect)."""
    released: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    """Set when the room has let go of this source (its last finals are on disk)."""

    @property
    def audio_seconds(self) -> float:
        """Seconds of audio received on this connection."""
        return self.audio_bytes / BYTES_PER_SECOND


class AudioSession:
    """One audio connection's trip through the recognizer and into the room."""

    def __init__(
        self,
        room: Room,
        source: SourceInfo,
        on_final: FinalCallback | None,
        on_failure: FailureCallback | None,
    ) -> None:
        self.room = room
        self.source = source
        self._on_final = on_final
        self._on_failure = on_failure
        self._failure_task: asyncio.Task[None] | None = None
        self._stream: RecognizerStream | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._tracker = CaptionTracker(
            room.name, room.recognizer.name, room.next_segment, room.timeline
        )
        self.timeline_start = room.timeline
        self._finished = False
        self._skipped = 0.0
        self._arrivals = ArrivalClock()
        self._switching: asyncio.Future[None] | None = None

    async def start(self) -> None:
        """Open the recognizer stream and start reading its results."""
        await self.room.wait_previous_session()
        self._tracker.next_segment = self.room.next_segment
        self._tracker.timeline_offset = self.timeline_start = self.room.timeline
        try:
            self._stream = await self.room.recognizer.open_stream(self.source.language)
        except UnsupportedLanguage as exc:
            raise ProtocolError(ErrorCode.UNSUPPORTED_LANGUAGE, str(exc)) from None
        self._consumer = asyncio.create_task(
            self._consume(self._stream), name=f"recognizer-results-{self.source.session}"
        )
        self._consumer.add_done_callback(self._consumer_done)

    def _consumer_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        log.warning("room %s: recognizer results ended: %s", self.room.name, exc)
        if self._on_failure is not None and not self._finished:
            error = exc if isinstance(exc, EngineError) else EngineError(str(exc))
            self._failure_task = asyncio.create_task(self._on_failure(error))

    async def _consume(self, stream: RecognizerStream) -> None:
        async for hyp in stream.results():
            update = self._tracker.apply(hyp)
            self.room.next_segment = self._tracker.next_segment
            if update is None:
                continue
            if not update.is_final:
                self.room.publish_partial(update.message)
                continue
            arrived = self._arrivals.arrival_of(float(update.message["end"]))
            record = await self.room.commit_final(update.message)
            if arrived is not None:
                self.room.latency.add(time.monotonic() - arrived)
            self.source.finals += 1
            if self._on_final is not None:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await self._on_final(record)

    def _check_consumer(self) -> None:
        if self._consumer is not None and self._consumer.done():
            exc = self._consumer.exception()
            if exc is not None:
                raise EngineError(str(exc)) from exc

    async def feed(self, pcm: bytes) -> None:
        """Pass a frame to the recognizer and move the room's clock."""
        if self._switching is not None:
            await asyncio.shield(self._switching)
        self._check_consumer()
        assert self._stream is not None
        arrived = time.monotonic()
        await self._stream.send_audio(pcm)
        self.room.costs.add_audio(self.room.recognizer.name, len(pcm))
        self.source.audio_bytes += len(pcm)
        self.source.last_frame_at = arrived
        self.room.timeline = self.timeline_start + self._skipped + self.source.audio_seconds
        self._arrivals.record(self.room.timeline, arrived)

    async def switch(self, language: str, recognizer: Recognizer | None) -> None:
        """Continue in ``language`` (on ``recognizer`` if given): the utterance in progress is
        finalized on the old stream, then a new stream picks up the next frame.

        Frames that arrive meanwhile wait (the uplink back-pressures); nothing is dropped.
        Raises EngineError if the new stream cannot be opened (the session then fails).
        """
        if self._finished or self._stream is None or self._consumer is None:
            self.source.language = language
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._switching = done
        try:
            if not self._consumer.done():
                await self._stream.finish()
                await asyncio.wait_for(asyncio.shield(self._consumer), FINISH_TIMEOUT_S)
            self._check_consumer()
            self.source.language = language
            engine = recognizer or self.room.recognizer
            self._tracker.timeline_offset = self.room.timeline
            self._tracker.engine = engine.name
            try:
                self._stream = await engine.open_stream(language)
            except UnsupportedLanguage as exc:
                raise ProtocolError(ErrorCode.UNSUPPORTED_LANGUAGE, str(exc)) from None
            self._consumer = asyncio.create_task(
                self._consume(self._stream), name=f"recognizer-results-{self.source.session}"
            )
            self._consumer.add_done_callback(self._consumer_done)
        finally:
            self._switching = None
            done.set_result(None)

    def skip(self, dropped_s: float, offline_s: float) -> None:
        """The node dropped ``dropped_s`` seconds of audio while away: move the timeline on."""
        self.source.gaps += 1
        self.source.dropped_s += dropped_s
        self._skipped += dropped_s
        self._tracker.timeline_offset += dropped_s
        self.room.timeline += dropped_s
        log.warning(
            "room %s: %s was away %.1f s and dropped %.1f s of audio",
            self.room.name, self.source.session, offline_s, dropped_s,
        )  # fmt: skip

    async def finish(self) -> None:
        """Finalize the utterance in progress and wait until every final is on disk.

        Raises EngineError if the recognizer failed; the room then restarts its recognizer.
        """
        if self._finished:
            return
        self._finished = True
        try:
            if self._stream is not None and self._consumer is not None:
                if not self._consumer.done():
                    await self._stream.finish()
                await asyncio.wait_for(asyncio.shield(self._consumer), FINISH_TIMEOUT_S)
        except (EngineError, TimeoutError) as exc:
            await self.abort(exc)
            raise EngineError(str(exc) or exc.__class__.__name__) from exc
        finally:
            self.room.next_segment = self._tracker.next_segment
            self.room.timeline = max(self.room.timeline, self.room.store.last_end)

    async def abort(self, exc: BaseException) -> None:
        """Give up on the recognizer stream after a failure and reset the recognizer."""
        self.room.last_error = f"recognizer: {exc}"
        log.error("room %s: recognizer failed: %s", self.room.name, exc)
        if self._consumer is not None and not self._consumer.done():
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError, EngineError):
                await self._consumer
        with contextlib.suppress(EngineError):
            await self.room.recognizer.close()

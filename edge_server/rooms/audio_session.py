"""One audio connection's trip through a room's recognizer.

:class:`AudioSession` feeds the recognizer, turns its results into captions (via
:class:`~edge_server.core.captions.CaptionTracker`) and hands finals to the room through the
narrow :class:`RoomHooks`: it never sees the room itself. It moves the room's
:class:`~edge_server.core.room_clock.RoomClock`, reports a recognizer failure at once, and
finalizes what it received even when its connection vanished. Of a positioned stream it
recognizes only what the room does not have yet
(:func:`~edge_server.core.stream_positions.place_frame`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from edge_server.contract.audio_format import BYTES_PER_SAMPLE, SAMPLE_RATE
from edge_server.contract.uplink import ErrorCode, ProtocolError
from edge_server.core.captions import CaptionTracker
from edge_server.core.engine_api import (
    EngineError,
    Recognizer,
    RecognizerStream,
    UnsupportedLanguage,
)
from edge_server.core.latency import ArrivalClock
from edge_server.core.room_clock import RoomClock
from edge_server.core.stream_positions import place_frame
from edge_server.core.trace import PipelineTrace, Stage
from edge_server.rooms.sources import FINISH_TIMEOUT_S, SourceInfo
from edge_server.rooms.transcript import UNSAVED_FIELD

log = logging.getLogger(__name__)

MAX_LOST_S = 86400.0
"""The most a position jump moves the timeline on (as for ``gap.dropped_s``)."""

FinalCallback = Callable[[dict[str, Any]], Awaitable[None]]
FailureCallback = Callable[[EngineError], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class RoomHooks:
    """What a session may do to its room, and nothing more."""

    room: str
    """The room's name (for captions and logs)."""
    clock: RoomClock
    """The room's segment ids and timeline."""
    recognizer: Callable[[], Recognizer]
    """The room's recognizer now (it may be rebuilt by a live settings change)."""
    commit_final: Callable[
        [dict[str, Any], float | None, tuple[str, int] | None], Awaitable[dict[str, Any]]
    ]
    """Translate, store, publish one final (with when its audio arrived, and where it ends in
    the node's stream: written to disk only); returns the record."""
    publish_partial: Callable[[dict[str, Any]], None]
    """Send a partial to the subscribers that want partials."""
    count_audio: Callable[[str, int], None]
    """``(engine, bytes)``: audio sent to a recognizer, for the cost meter."""
    report_error: Callable[[str], None]
    """Record a problem for ``/healthz`` and the status page."""
    trace: PipelineTrace | None = None
    """Sees each frame handed to the session (see :mod:`edge_server.core.trace`)."""


class AudioSession:
    """One audio connection's trip through the recognizer and into the room."""

    def __init__(
        self,
        hooks: RoomHooks,
        source: SourceInfo,
        on_final: FinalCallback | None = None,
        on_failure: FailureCallback | None = None,
    ) -> None:
        """``on_final`` receives each stored final of the session; ``on_failure`` is called at
        once if the recognizer fails, so the connection can be told without waiting for a
        frame."""
        self.hooks = hooks
        self.source = source
        self._on_final = on_final
        self._on_failure = on_failure
        self._failure_task: asyncio.Task[None] | None = None
        self._stream: RecognizerStream | None = None
        self._consumer: asyncio.Task[None] | None = None
        clock = hooks.clock
        self._tracker = CaptionTracker(
            hooks.room, hooks.recognizer().name, clock.next_segment, clock.timeline
        )
        self.timeline_start = clock.timeline
        self._finished = False
        self._skipped = 0.0
        self._arrivals = ArrivalClock()
        self._switching: asyncio.Future[None] | None = None
        self._anchor: tuple[float, int, int] | None = None
        """A positioned stream's last fed frame: (its place on the timeline, its sample, the
        sample where it ends)."""

    async def start(self) -> None:
        """Open the recognizer stream and start reading its results."""
        clock = self.hooks.clock
        self._tracker.next_segment = clock.next_segment
        self._tracker.timeline_offset = self.timeline_start = clock.timeline
        try:
            self._stream = await self.hooks.recognizer().open_stream(self.source.language)
        except UnsupportedLanguage as exc:
            raise ProtocolError(ErrorCode.UNSUPPORTED_LANGUAGE, str(exc)) from None
        self._start_consumer(self._stream)

    def _start_consumer(self, stream: RecognizerStream) -> None:
        self._consumer = asyncio.create_task(
            self._consume(stream), name=f"recognizer-results-{self.source.session}"
        )
        self._consumer.add_done_callback(self._consumer_done)

    def _consumer_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        log.warning("room %s: recognizer results ended: %s", self.hooks.room, exc)
        if self._on_failure is not None and not self._finished:
            error = exc if isinstance(exc, EngineError) else EngineError(str(exc))
            self._failure_task = asyncio.create_task(self._on_failure(error))

    async def _consume(self, stream: RecognizerStream) -> None:
        hooks = self.hooks
        async for hyp in stream.results():
            update = self._tracker.apply(hyp)
            hooks.clock.segments_used(self._tracker.next_segment)
            if update is None:
                continue
            if not update.is_final:
                hooks.publish_partial(update.message)
                continue
            arrived = self._arrivals.arrival_of(float(update.message["end"]))
            # Where the final's audio ends in the node's stream: written with the final, so a
            # restarted server knows the node's audio up to here is finalized (before the
            # write: a crash right after it must not make the node's resend count twice).
            end = self._stream_sample_at(float(update.message["end"]))
            node_stream = self.source.stream
            mark = (node_stream, end) if node_stream is not None and end is not None else None
            record = await hooks.commit_final(update.message, arrived, mark)
            self.source.finals += 1
            if self._on_final is not None:
                # Tell the node its audio up to here is finalized: only once it is on disk. A
                # final the disk refused lives in memory only, so after a crash the node must
                # still offer that audio again.
                if end is not None and not record.get(UNSAVED_FIELD):
                    record = {**record, "stream_end": end}
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await self._on_final(record)

    def _check_consumer(self) -> None:
        if self._consumer is not None and self._consumer.done():
            exc = self._consumer.exception()
            if exc is not None:
                raise EngineError(str(exc)) from exc

    async def feed(self, pcm: bytes, position: int | None = None) -> None:
        """Pass a frame to the recognizer and move the room's clock.

        ``position`` (a positioned stream): the frame's first sample in the node's stream.
        What the room already has of it is dropped; a jump past the end of what it has (audio
        the node lost) moves the timeline on first.
        """
        if self.hooks.trace is not None:
            self.hooks.trace(Stage.FRAME_IN, pcm)
        if self._switching is not None:
            await asyncio.shield(self._switching)
        self._check_consumer()
        assert self._stream is not None
        stream, end = self.source.stream, None
        before = self.timeline_start + self._skipped + self.source.audio_seconds
        if stream is not None and position is not None:
            place = place_frame(
                self.hooks.clock.streams.end(stream), position, len(pcm) // BYTES_PER_SAMPLE
            )
            if place.lost:
                self._move_on(min(place.lost / SAMPLE_RATE, MAX_LOST_S))
            if place.keep_from:
                self.source.repeated_bytes += place.keep_from * BYTES_PER_SAMPLE
                pcm = pcm[place.keep_from * BYTES_PER_SAMPLE :]
            end = place.end
            if not pcm:
                return
            # The first new sample, and where it goes on the timeline (after any jump).
            self._anchor = (before + place.lost / SAMPLE_RATE, position + place.keep_from, end)
        arrived = time.monotonic()
        await self._stream.send_audio(pcm)
        self.hooks.count_audio(self.hooks.recognizer().name, len(pcm))
        self.source.audio_bytes += len(pcm)
        self.source.last_frame_at = arrived
        clock = self.hooks.clock
        clock.heard(self.timeline_start + self._skipped + self.source.audio_seconds)
        self._arrivals.record(clock.timeline, arrived)
        if stream is not None and end is not None:
            clock.streams.heard(stream, end)

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
            engine = recognizer or self.hooks.recognizer()
            self._tracker.timeline_offset = self.hooks.clock.timeline
            self._tracker.engine = engine.name
            try:
                self._stream = await engine.open_stream(language)
            except UnsupportedLanguage as exc:
                raise ProtocolError(ErrorCode.UNSUPPORTED_LANGUAGE, str(exc)) from None
            self._start_consumer(self._stream)
        finally:
            self._switching = None
            done.set_result(None)

    def skip(self, dropped_s: float, offline_s: float) -> None:
        """The node dropped ``dropped_s`` seconds of audio while away: move the timeline on
        (a positioned stream's own positions do that, frame by frame: only counted here)."""
        self.source.gaps += 1
        self.source.dropped_s += dropped_s
        if self.source.stream is None:
            self._move_on(dropped_s)
        log.warning(
            "room %s: %s was away %.1f s and dropped %.1f s of audio",
            self.hooks.room, self.source.session, offline_s, dropped_s,
        )  # fmt: skip

    def _stream_sample_at(self, timeline: float) -> int | None:
        """The sample of the node's stream at ``timeline`` (None: an unpositioned stream)."""
        if self._anchor is None or self.source.stream is None:
            return None
        at, sample, fed = self._anchor
        # The frame being fed counts (the recognizer may end a final on it before the ledger
        # is told): a final is computed as soon as the recognizer gives it, before it is stored.
        known = max(fed, self.hooks.clock.streams.end(self.source.stream) or 0)
        return max(0, min(known, sample + round((timeline - at) * SAMPLE_RATE)))

    def _move_on(self, seconds: float) -> None:
        """Audio the node lost: the timeline (and the captions after it) move on by this."""
        self._skipped += seconds
        self._tracker.timeline_offset += seconds
        self.hooks.clock.skip(seconds)

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
            self.hooks.clock.segments_used(self._tracker.next_segment)

    async def abort(self, exc: BaseException) -> None:
        """Give up on the recognizer stream after a failure and reset the recognizer."""
        self.hooks.report_error(f"recognizer: {exc}")
        log.error("room %s: recognizer failed: %s", self.hooks.room, exc)
        if self._consumer is not None and not self._consumer.done():
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError, EngineError):
                await self._consumer
        with contextlib.suppress(EngineError):
            await self.hooks.recognizer().close()

"""A room: one audio source at a time, one recognizer, a transcript, N caption subscribers.

The room owns the order of things for a final: recognized, translated (when a translator is
configured), written to disk, then published. It never waits on a subscriber (see
:mod:`fanout`) and outlives any client, good or bad.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from edge_server.audio_protocol import BYTES_PER_SECOND, ErrorCode, ProtocolError, StreamHello
from edge_server.captions import CaptionTracker
from edge_server.engines.base import (
    EngineError,
    Recognizer,
    RecognizerStream,
    Translator,
    UnsupportedLanguage,
)
from edge_server.fanout import Broadcaster
from edge_server.settings import RoomSettings, ServerSettings
from edge_server.transcript import TranscriptStore

log = logging.getLogger(__name__)

FinalCallback = Callable[[dict[str, Any]], Awaitable[None]]
FailureCallback = Callable[[EngineError], Coroutine[Any, Any, None]]
FINISH_TIMEOUT_S = 60.0


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class SourceInfo:
    """The audio source currently connected to a room."""

    session: str
    client_name: str
    client_version: str
    language: str
    remote: str
    connected_at: float = field(default_factory=time.monotonic)
    last_frame_at: float | None = None
    audio_bytes: int = 0
    finals: int = 0

    @property
    def audio_seconds(self) -> float:
        """Seconds of audio received on this connection."""
        return self.audio_bytes / BYTES_PER_SECOND


class Room:
    """State and pipeline of one room."""

    def __init__(
        self,
        name: str,
        settings: RoomSettings,
        server: ServerSettings,
        recognizer: Recognizer,
        store: TranscriptStore,
        translator: Translator | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.server = server
        self.recognizer = recognizer
        self.translator = translator
        self.store = store
        self.broadcaster = Broadcaster()
        self.source: SourceInfo | None = None
        self.timeline = store.last_end
        self.next_segment = store.last_segment + 1
        self.sessions_started = 0
        self.last_error: str | None = None
        self._last_status = _dumps(self.status_message())
        self._finishing: asyncio.Task[EngineError | None] | None = None

    # --- status ------------------------------------------------------------------------------

    def audio_state(self, now: float | None = None) -> str:
        """``flowing``, ``connected`` (no frame for a while) or ``absent``."""
        if self.source is None:
            return "absent"
        now = time.monotonic() if now is None else now
        last = self.source.last_frame_at
        if last is not None and now - last <= self.server.audio_idle_s:
            return "flowing"
        return "connected"

    def status_message(self) -> dict[str, Any]:
        """The ``status`` message for subscribers."""
        return {
            "type": "status",
            "room": self.name,
            "engine": self.recognizer.name,
            "source_lang": self.source.language if self.source else self.settings.source_lang,
            "targets": list(self.settings.targets),
            "translator": self.translator.name if self.translator else "none",
            "audio": self.audio_state(),
        }

    def publish_status_if_changed(self) -> None:
        """Send ``status`` to subscribers when anything in it changed."""
        text = _dumps(self.status_message())
        if text != self._last_status:
            self._last_status = text
            self.broadcaster.publish(text)

    def health(self) -> dict[str, Any]:
        """This room's part of ``/healthz``."""
        source = None
        if self.source is not None:
            last = self.source.last_frame_at
            source = {
                "session": self.source.session,
                "client": f"{self.source.client_name} {self.source.client_version}".strip(),
                "remote": self.source.remote,
                "language": self.source.language,
                "audio_seconds": round(self.source.audio_seconds, 1),
                "last_frame_age_s": None if last is None else round(time.monotonic() - last, 2),
            }
        return {
            "engine": self.recognizer.name,
            "translator": self.translator.name if self.translator else "none",
            "source_lang": self.settings.source_lang,
            "targets": list(self.settings.targets),
            "audio": self.audio_state(),
            "audio_flowing": self.audio_state() == "flowing",
            "source": source,
            "subscribers": len(self.broadcaster.subscribers),
            "finals": self.store.count,
            "timeline_s": round(self.timeline, 3),
            "last_error": self.last_error,
        }

    # --- audio sessions ----------------------------------------------------------------------

    def claim_source(self, hello: StreamHello, remote: str) -> SourceInfo:
        """Become the room's audio source, or raise ``source_busy``/``unsupported_language``."""
        if self.source is not None:
            raise ProtocolError(
                ErrorCode.SOURCE_BUSY,
                f"room {self.name} already has an audio source ({self.source.client_name} "
                f"from {self.source.remote}); stop it first",
            )
        language = hello.language or self.settings.source_lang
        supported = self.recognizer.supported_languages()
        if supported is not None and language not in supported:
            raise ProtocolError(
                ErrorCode.UNSUPPORTED_LANGUAGE,
                f"the {self.recognizer.name} recognizer of room {self.name} supports "
                f"{', '.join(sorted(supported))}, not {language}",
            )
        self.sessions_started += 1
        self.source = SourceInfo(
            session=f"{self.name}-{self.sessions_started}",
            client_name=hello.client_name,
            client_version=hello.client_version,
            language=language,
            remote=remote,
        )
        self.publish_status_if_changed()
        return self.source

    def release_source(self, source: SourceInfo) -> None:
        """Forget the audio source (after its session has finished)."""
        if self.source is source:
            self.source = None
            self.publish_status_if_changed()

    async def commit_final(self, message: dict[str, Any]) -> dict[str, Any]:
        """Translate, write to disk, then publish one final. Returns the stored record."""
        targets = [t for t in self.settings.targets if t != message["lang"]]
        if self.translator is not None and targets:
            try:
                translations = await self.translator.translate(
                    message["text"], message["lang"], targets
                )
                message["translations"] = dict(translations)
            except EngineError as exc:
                self.last_error = f"translation: {exc}"
                log.warning("room %s: translation failed: %s", self.name, exc)
        message["wall"] = _utc_now()
        try:
            await self.store.append(message)
        except OSError as exc:
            # Showing the line beats a blank screen; the failure is loud in logs and /healthz.
            self.last_error = f"transcript write failed: {exc}"
            log.error("room %s: could not write the transcript: %s", self.name, exc)
        self.broadcaster.publish(_dumps(message))
        return message

    def publish_partial(self, message: dict[str, Any]) -> None:
        """Send a partial to subscribers that want partials."""
        self.broadcaster.publish(_dumps(message), partial=True)

    def open_session(
        self,
        source: SourceInfo,
        on_final: FinalCallback | None = None,
        on_failure: FailureCallback | None = None,
    ) -> AudioSession:
        """A session that feeds this room's recognizer for ``source``.

        ``on_final`` receives each stored final of the session; ``on_failure`` is called at once
        if the recognizer fails, so the connection can be told without waiting for a frame.
        """
        return AudioSession(self, source, on_final, on_failure)

    async def end_session(self, session: AudioSession) -> EngineError | None:
        """Finalize ``session`` and free the source slot; returns the recognizer's failure.

        Runs as a task of the room, so it completes even when the connection's handler is
        cancelled (a client that vanished): the utterance in progress still reaches the disk.
        """
        task = asyncio.create_task(self._end(session), name=f"finish-{session.source.session}")
        self._finishing = task
        return await asyncio.shield(task)

    async def _end(self, session: AudioSession) -> EngineError | None:
        try:
            await session.finish()
        except EngineError as exc:
            return exc
        finally:
            self.release_source(session.source)
        return None

    async def wait_previous_session(self) -> None:
        """Wait until the previous session's last finals are on disk (the recognizer is free)."""
        if self._finishing is not None and not self._finishing.done():
            await asyncio.wait({self._finishing}, timeout=FINISH_TIMEOUT_S)

    async def close(self) -> None:
        """Stop the recognizer and close the transcript."""
        with contextlib.suppress(EngineError):
            await self.recognizer.close()
        self.store.close()


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
            record = await self.room.commit_final(update.message)
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
        self._check_consumer()
        assert self._stream is not None
        await self._stream.send_audio(pcm)
        self.source.audio_bytes += len(pcm)
        self.source.last_frame_at = time.monotonic()
        self.room.timeline = self.timeline_start + self.source.audio_seconds

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

"""A room: one audio source at a time, one recognizer, a transcript, N caption subscribers.

The room owns the order of things for a final: recognized, translated (when a translator is
configured), written to disk, then published. It never waits on a subscriber (see
:mod:`fanout`) and outlives any client, good or bad.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge_server.audio_protocol import ErrorCode, ProtocolError, SignalLevel, StreamHello
from edge_server.audio_session import (
    FINISH_TIMEOUT_S,
    AudioSession,
    FailureCallback,
    FinalCallback,
    SourceInfo,
)
from edge_server.costs import CostMeter
from edge_server.engines.base import EngineError, Recognizer, Synthesizer, Translator
from edge_server.fanout import Broadcaster, dumps_message
from edge_server.latency import LatencyStats
from edge_server.live_settings import LiveChange, SettingsConflict, plan_change
from edge_server.settings import RoomSettings, ServerSettings
from edge_server.speech import SpeechHub
from edge_server.transcript import TranscriptStore

log = logging.getLogger(__name__)
SIGNAL_STEP_DB = 6
"""Screens get levels in steps of this many dB, so a status is not sent every second."""
RECENT_ERRORS = 20
LIVE_SETTINGS_FILE = "live-settings.json"
RecognizerBuilder = Callable[[RoomSettings], Recognizer]


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
        synthesizer: Synthesizer | None = None,
        rebuild_recognizer: RecognizerBuilder | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.server = server
        self.recognizer = recognizer
        self.translator = translator
        self.store = store
        self.broadcaster = Broadcaster()
        self.speech = SpeechHub(name, synthesizer, self.broadcaster) if synthesizer else None
        self.source: SourceInfo | None = None
        self.timeline = store.last_end
        self.next_segment = store.last_segment + 1
        self.sessions_started = 0
        self.errors: deque[dict[str, str]] = deque(maxlen=RECENT_ERRORS)
        """Recent problems, oldest first: ``{"at": ISO time, "message"}``."""
        self.latency = LatencyStats()
        self.costs = CostMeter()
        self.language_override = False
        """True once the tech lead chose the language: it then wins over the node's hello."""
        self._rebuild_recognizer = rebuild_recognizer
        self._session: AudioSession | None = None
        self._settings_lock = asyncio.Lock()
        self._last_status = dumps_message(self.status_message())
        self._finishing: asyncio.Task[EngineError | None] | None = None

    @property
    def last_error(self) -> str | None:
        """The latest problem, or None."""
        return self.errors[-1]["message"] if self.errors else None

    @last_error.setter
    def last_error(self, message: str | None) -> None:
        if message:
            self.errors.append({"at": _utc_now(), "message": message})

    def languages(self) -> list[str]:
        """What a listener may follow: the source language, then the targets."""
        source = self.source.language if self.source else self.settings.source_lang
        return [source, *(t for t in self.settings.targets if t != source)]

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
            "signal": self._coarse_signal(),
            "offline": self.offline,
            "languages": self.languages(),
            "speech": self.speech is not None,
            "synthesizer": self.speech.name if self.speech else "none",
        }

    @property
    def offline(self) -> bool:
        """True when the room wants a cloud recognizer but captions with the embedded one."""
        return bool(getattr(self.recognizer, "offline", False))

    def _coarse_signal(self) -> dict[str, Any] | None:
        level = self.source.signal if self.source else None
        if level is None:
            return None
        step = SIGNAL_STEP_DB
        return {
            "rms_dbfs": step * round(level.rms_dbfs / step),
            "peak_dbfs": step * round(level.peak_dbfs / step),
            "clipping": level.clipping,
            "no_signal": level.no_signal,
        }

    def update_signal(self, source: SourceInfo, level: SignalLevel) -> None:
        """The node reported its signal level."""
        if level.no_signal and (source.signal is None or not source.signal.no_signal):
            log.warning("room %s: no signal from %s for %.0f s", self.name, source.session,
                        level.silent_s)  # fmt: skip
        source.signal = level
        self.publish_status_if_changed()

    def publish_status_if_changed(self) -> None:
        """Send ``status`` to subscribers when anything in it changed."""
        text = dumps_message(self.status_message())
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
                "device": self.source.device,
                "audio_seconds": round(self.source.audio_seconds, 1),
                "last_frame_age_s": None if last is None else round(time.monotonic() - last, 2),
                "signal": dataclasses.asdict(signal) if (signal := self.source.signal) else None,
                "gaps": self.source.gaps,
                "dropped_s": round(self.source.dropped_s, 1),
            }
        return {
            "engine": self.recognizer.name,
            "translator": self.translator.name if self.translator else "none",
            "source_lang": self.settings.source_lang,
            "targets": list(self.settings.targets),
            "audio": self.audio_state(),
            "audio_flowing": self.audio_state() == "flowing",
            "offline": self.offline,
            "source": source,
            "subscribers": len(self.broadcaster.subscribers),
            "finals": self.store.count,
            "timeline_s": round(self.timeline, 3),
            "last_error": self.last_error,
            "recognizer_error": getattr(self.recognizer, "last_error", None),
            "engine_switches": list(getattr(self.recognizer, "switches", [])),
            "cost": self.costs.estimate(),
        }

    def admin_status(self) -> dict[str, Any]:
        """This room for the tech lead's status page: health plus latency, listeners, errors."""
        status = self.health()
        by_lang: dict[str, int] = {}
        with_audio = 0
        for subscriber in self.broadcaster.subscribers.values():
            key = subscriber.lang or "all"
            by_lang[key] = by_lang.get(key, 0) + 1
            with_audio += subscriber.audio
        latency = self.latency.summary()
        supported = self.recognizer.supported_languages()
        status.update(
            {
                "languages": list(self.settings.languages),
                "source_langs": sorted(supported) if supported is not None else None,
                "identification": self.settings.engine == "transcribe",
                "language_override": self.language_override,
                "latency": dataclasses.asdict(latency) if latency else None,
                "listeners": {
                    "total": len(self.broadcaster.subscribers),
                    "audio": with_audio,
                    "by_lang": by_lang,
                },
                "errors": list(self.errors),
                "speech": self.speech is not None,
                "synthesizer": self.speech.name if self.speech else "none",
                "speech_health": self.speech.health() if self.speech else None,
            }
        )
        return status

    # --- audio sessions ----------------------------------------------------------------------

    def claim_source(self, hello: StreamHello, remote: str) -> SourceInfo:
        """Become the room's audio source, or raise ``source_busy``/``unsupported_language``."""
        if self.source is not None:
            raise ProtocolError(
                ErrorCode.SOURCE_BUSY,
                f"room {self.name} already has an audio source ({self.source.client_name} "
                f"from {self.source.remote}); stop it first",
            )
        if self.language_override or not hello.language:
            language = self.settings.source_lang
        else:
            language = hello.language
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
            device=hello.device,
        )
        self.publish_status_if_changed()
        return self.source

    def release_source(self, source: SourceInfo) -> None:
        """Forget the audio source (after its session has finished)."""
        source.released.set()
        if self.source is source:
            self.source = None
            self.publish_status_if_changed()

    def stale_source_for(self, hello: StreamHello, remote: str) -> SourceInfo | None:
        """The current source, if ``hello`` looks like the same node reconnecting to replace it.

        After a network partition the server may hold the old connection until its heartbeat
        notices (20 s), while the node has already reconnected. The same client from the same
        address, while the old connection has sent no audio for ``audio_idle_s``, replaces it.
        A second, different source is still refused with ``source_busy``.
        """
        source = self.source
        if source is None or source.remote != remote or source.client_name != hello.client_name:
            return None
        return source if self.audio_state() != "flowing" else None

    async def replace_stale_source(self, source: SourceInfo) -> None:
        """Drop ``source``'s connection and wait until what it sent is finalized."""
        log.warning(
            "room %s: %s from %s reconnected while its old connection %s was silent for "
            "%.0f s: replacing it",
            self.name, source.client_name, source.remote, source.session,
            time.monotonic() - (source.last_frame_at or source.connected_at),
        )  # fmt: skip
        if source.abort is not None:
            source.abort()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(source.released.wait(), FINISH_TIMEOUT_S)

    async def commit_final(self, message: dict[str, Any]) -> dict[str, Any]:
        """Translate, write to disk, then publish one final. Returns the stored record."""
        targets = [t for t in self.settings.targets if t != message["lang"]]
        if self.translator is not None and targets:
            try:
                translations = await asyncio.wait_for(
                    self.translator.translate(message["text"], message["lang"], targets),
                    self.server.translate_timeout_s + 1.0,
                )
                message["translations"] = dict(translations)
                self.costs.add_translation(message["text"], len(translations))
            except (EngineError, TimeoutError) as exc:
                self.last_error = f"translation: {exc}"
                log.warning("room %s: translation failed: %s", self.name, exc)
        message["wall"] = _utc_now()
        try:
            await self.store.append(message)
        except OSError as exc:
            # Showing the line beats a blank screen; the failure is loud in logs and /healthz.
            self.last_error = f"transcript write failed: {exc}"
            log.error("room %s: could not write the transcript: %s", self.name, exc)
        self.broadcaster.publish(dumps_message(message))
        if self.speech is not None:
            self.speech.on_final(message)
        return message

    def publish_partial(self, message: dict[str, Any]) -> None:
        """Send a partial to subscribers that want partials."""
        self.broadcaster.publish(dumps_message(message), partial=True)

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
        session = AudioSession(self, source, on_final, on_failure)
        self._session = session
        return session

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
            if self._session is session:
                self._session = None
            self.release_source(session.source)
        return None

    # --- live settings -----------------------------------------------------------------------

    @property
    def live_settings_path(self) -> Path:
        """Where the tech lead's live changes are kept across restarts."""
        return self.store.path.parent / LIVE_SETTINGS_FILE

    def _save_live_settings(self) -> None:
        data = {
            "source_lang": self.settings.source_lang,
            "languages": list(self.settings.languages),
            "targets": list(self.settings.targets),
            "language_override": self.language_override,
        }
        path = self.live_settings_path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1) + "\n")
            tmp.replace(path)
        except OSError as exc:
            self.last_error = f"could not save the live settings: {exc}"
            log.error("room %s: could not save %s: %s", self.name, path, exc)

    async def change_settings(self, change: LiveChange) -> RoomSettings:
        """Apply the tech lead's change now, without a restart; returns the new settings.

        Targets apply from the next final. A new source language (or identification list)
        finalizes the utterance in progress and continues the running audio in the new one.
        Raises :class:`SettingsConflict` (the engine cannot) or ``SettingsError`` (invalid).
        """
        async with self._settings_lock:
            recognizer_languages = self.recognizer.supported_languages()
            plan = plan_change(
                self.settings,
                change,
                supported_languages=recognizer_languages,
                has_translator=self.translator is not None,
            )
            if plan.rebuild_recognizer:
                if self._rebuild_recognizer is None:
                    raise SettingsConflict("this room's recognizer cannot be rebuilt")
                old = self.recognizer
                new = self._rebuild_recognizer(plan.settings)
                if self._session is not None:
                    try:
                        await self._session.switch(plan.settings.source_lang, new)
                    except BaseException:
                        with contextlib.suppress(EngineError):
                            await new.close()
                        raise
                self.recognizer = new
                with contextlib.suppress(EngineError):
                    await old.close()
            elif plan.restart_stream and self._session is not None:
                await self._session.switch(plan.settings.source_lang, None)
            self.settings = plan.settings
            if change.source_lang is not None or change.languages is not None:
                self.language_override = True
            self._save_live_settings()
            log.info(
                "room %s: settings changed live: source %s, identification %s, targets %s",
                self.name, self.settings.source_lang, list(self.settings.languages) or "off",
                list(self.settings.targets),
            )  # fmt: skip
            self.publish_status_if_changed()
            return self.settings

    async def wait_previous_session(self) -> None:
        """Wait until the previous session's last finals are on disk (the recognizer is free)."""
        if self._finishing is not None and not self._finishing.done():
            await asyncio.wait({self._finishing}, timeout=FINISH_TIMEOUT_S)

    async def close(self) -> None:
        """Stop the recognizer and the speech, and close the transcript."""
        if self.speech is not None:
            await self.speech.close()
        with contextlib.suppress(EngineError):
            await self.recognizer.close()
        self.store.close()

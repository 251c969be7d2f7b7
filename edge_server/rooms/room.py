"""A room: one audio source at a time, one recognizer, a transcript, N caption subscribers.

The room joins its parts and owns what changes them: who the source is (:mod:`.sources`), its
clock (:class:`~edge_server.core.room_clock.RoomClock`), a final's way out (:mod:`.finals`), the
audio sessions (:mod:`.audio_session`, which see the room only through :class:`RoomHooks`) and
the tech lead's live changes. What it shows of itself is in :mod:`.status_views`. It never waits
on a subscriber (see :mod:`.fanout`) and outlives any client, good or bad.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from edge_server.contract.uplink import StreamHello
from edge_server.core.costs import CostMeter
from edge_server.core.engine_api import (
    EngineError,
    GlossaryUser,
    Recognizer,
    Synthesizer,
    Translator,
)
from edge_server.core.error_log import ErrorLog
from edge_server.core.glossary import Glossary, schedule_terms
from edge_server.core.latency import LatencyStats
from edge_server.core.live_settings import LiveChange, SettingsConflict, plan_change
from edge_server.core.replication import ReplicationState
from edge_server.core.room_clock import RoomClock
from edge_server.core.settings import RoomSettings, ServerSettings
from edge_server.core.talk_board import TalkBoard
from edge_server.core.trace import PipelineTrace
from edge_server.rooms.audio_session import AudioSession, FailureCallback, FinalCallback, RoomHooks
from edge_server.rooms.fanout import Broadcaster, dumps_message
from edge_server.rooms.finals import FinalPipeline
from edge_server.rooms.listener_speech import SpeechHub
from edge_server.rooms.live_settings_store import LiveSettingsStore
from edge_server.rooms.sources import FINISH_TIMEOUT_S, SourceInfo, SourceSlot
from edge_server.rooms.status_views import status_message
from edge_server.rooms.transcript import TranscriptStore

log = logging.getLogger(__name__)
RecognizerBuilder = Callable[[RoomSettings], Recognizer]


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
        live_store: LiveSettingsStore | None = None,
        trace: PipelineTrace | None = None,
        talks: TalkBoard | None = None,
        glossary: Glossary | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.server = server
        self.recognizer = recognizer
        self.translator = translator
        self.store = store
        self.glossary_files = glossary if glossary is not None else Glossary()
        """The conference's and this room's glossary files (the schedule's names join them)."""
        self._glossary: tuple[object, Glossary] = (object(), self.glossary_files)
        self._shared_glossary: tuple[Glossary, tuple[str, ...]] | None = None
        self.talks = talks if talks is not None else TalkBoard()
        """The conference schedule (shared by every room) and the clock's state."""
        self.trace = trace
        """Sees each step of the pipeline (see :mod:`edge_server.core.trace`); None in service."""
        self.broadcaster = Broadcaster(trace)
        self.speech = SpeechHub(name, synthesizer, self.broadcaster) if synthesizer else None
        self.sources = SourceSlot(name, server.audio_idle_s, self.publish_status_if_changed)
        self.clock = RoomClock(store.last_segment + 1, store.last_end, store.streams)
        self.errors = ErrorLog()
        self.latency = LatencyStats()
        self.costs = CostMeter()
        self.finals = FinalPipeline(
            name,
            store,
            self.broadcaster,
            translator=translator,
            translate_timeout_s=server.translate_timeout_s,
            speech=self.speech,
            costs=self.costs,
            latency=self.latency,
            errors=self.errors,
            trace=trace,
            tag_talk=lambda message: self.talks.tag(message, self.schedule_room),
            correct=lambda text: self.glossary().apply(text),
        )
        self.language_override = False
        """True once the tech lead chose the language: it then wins over the node's hello."""
        self.live_store = live_store or LiveSettingsStore(store.path.parent)
        self._rebuild_recognizer = rebuild_recognizer
        self._session: AudioSession | None = None
        self._settings_lock = asyncio.Lock()
        self._finishing: asyncio.Task[EngineError | None] | None = None
        self._last_status = dumps_message(status_message(self))
        self.replication: ReplicationState | None = None
        """The replicator's state when the server replicates to Redis (``replicate_to``)."""
        self.share_glossary()

    @property
    def source(self) -> SourceInfo | None:
        """The audio source connected now, or None."""
        return self.sources.current

    def glossary(self) -> Glossary:
        """The glossary files plus the schedule's speakers and title words (rebuilt when the
        schedule changes)."""
        schedule = self.talks.schedule
        if self._glossary[0] is not schedule:
            names = Glossary.of({}, schedule_terms(schedule))
            self._glossary = (schedule, self.glossary_files.merged(names))
        return self._glossary[1]

    def share_glossary(self) -> None:
        """Hand the glossary to the engines that use it themselves (Transcribe's custom
        vocabulary, Translate's terminology) at start and whenever it or the room's languages
        changed; cheap when nothing did (the status tick calls it every second)."""
        languages = (*(self.settings.languages or (self.settings.source_lang,)),
                     *self.settings.targets)  # fmt: skip
        glossary = self.glossary()
        shared = self._shared_glossary
        if shared is not None and shared[0] is glossary and shared[1] == languages:
            return
        self._shared_glossary = (glossary, languages)
        for engine in (self.recognizer, self.translator):
            if isinstance(engine, GlossaryUser):
                engine.use_glossary(glossary, languages)

    @property
    def schedule_room(self) -> str:
        """The room's name in the conference schedule (``schedule_room``, else its own)."""
        return self.settings.schedule_room or self.name

    def languages(self) -> list[str]:
        """What a listener may follow: the source language, then the targets."""
        source = self.source.language if self.source else self.settings.source_lang
        return [source, *(t for t in self.settings.targets if t != source)]

    def publish_status_if_changed(self) -> None:
        """Send ``status`` to subscribers when anything in it changed."""
        text = dumps_message(status_message(self))
        if text != self._last_status:
            self._last_status = text
            self.broadcaster.publish(text)

    # --- audio sessions ----------------------------------------------------------------------

    def claim_source(self, hello: StreamHello, remote: str) -> SourceInfo:
        """Become the room's audio source, or raise ``source_busy``/``unsupported_language``."""
        return self.sources.claim(
            hello,
            remote,
            configured_language=self.settings.source_lang,
            language_override=self.language_override,
            supported=self.recognizer.supported_languages(),
            engine=self.recognizer.name,
        )

    def _hooks(self) -> RoomHooks:
        return RoomHooks(
            room=self.name,
            clock=self.clock,
            recognizer=lambda: self.recognizer,
            commit_final=lambda message, arrived, mark: self.finals.commit(
                message, self.settings.targets, arrived, mark
            ),
            publish_partial=self.finals.publish_partial,
            count_audio=self.costs.add_audio,
            report_error=self.errors.add,
            trace=self.trace,
        )

    async def start_session(
        self,
        source: SourceInfo,
        on_final: FinalCallback | None = None,
        on_failure: FailureCallback | None = None,
    ) -> AudioSession:
        """Open a session that feeds this room's recognizer for ``source``, once the previous
        session's last finals are on disk. Call :meth:`end_session` when it is over, whatever
        happened (even if this raises).

        ``on_final`` receives each stored final of the session; ``on_failure`` is called at once
        if the recognizer fails, so the connection can be told without waiting for a frame.
        """
        await self.wait_previous_session()
        session = AudioSession(self._hooks(), source, on_final, on_failure)
        self._session = session
        try:
            await session.start()
        except BaseException:
            self._session = None
            raise
        return session

    async def end_session(
        self, session: AudioSession | None, source: SourceInfo
    ) -> EngineError | None:
        """Finalize ``session`` (None: it never started) and free the source slot; returns the
        recognizer's failure.

        Runs as a task of the room, so it completes even when the connection's handler is
        cancelled (a client that vanished): the utterance in progress still reaches the disk.
        """
        task = asyncio.create_task(self._end(session, source), name=f"finish-{source.session}")
        self._finishing = task
        return await asyncio.shield(task)

    async def _end(self, session: AudioSession | None, source: SourceInfo) -> EngineError | None:
        try:
            if session is not None:
                await session.finish()
        except EngineError as exc:
            return exc
        finally:
            if self._session is session:
                self._session = None
            self.clock.settle(self.store.last_end)
            self.sources.release(source)
        return None

    async def wait_previous_session(self) -> None:
        """Wait until the previous session's last finals are on disk (the recognizer is free)."""
        if self._finishing is not None and not self._finishing.done():
            await asyncio.wait({self._finishing}, timeout=FINISH_TIMEOUT_S)

    # --- live settings -----------------------------------------------------------------------

    async def change_settings(self, change: LiveChange) -> RoomSettings:
        """Apply the tech lead's change now, without a restart; returns the new settings.

        Targets apply from the next final. A new source language (or identification list)
        finalizes the utterance in progress and continues the running audio in the new one.
        Raises :class:`SettingsConflict` (the engine cannot) or ``SettingsError`` (invalid).
        """
        async with self._settings_lock:
            plan = plan_change(
                self.settings,
                change,
                supported_languages=self.recognizer.supported_languages(),
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
                self._shared_glossary = None
                with contextlib.suppress(EngineError):
                    await old.close()
            elif plan.restart_stream and self._session is not None:
                await self._session.switch(plan.settings.source_lang, None)
            self.settings = plan.settings
            self.share_glossary()
            if change.source_lang is not None or change.languages is not None:
                self.language_override = True
            try:
                self.live_store.save(self.settings, self.language_override)
            except OSError as exc:
                self.errors.add(f"could not save the live settings: {exc}")
                log.error("room %s: could not save %s: %s", self.name, self.live_store.path, exc)
            log.info(
                "room %s: settings changed live: source %s, identification %s, targets %s",
                self.name, self.settings.source_lang, list(self.settings.languages) or "off",
                list(self.settings.targets),
            )  # fmt: skip
            self.publish_status_if_changed()
            return self.settings

    async def close(self) -> None:
        """Stop the recognizer and the speech, and close the transcript."""
        if self.speech is not None:
            await self.speech.close()
        with contextlib.suppress(EngineError):
            await self.recognizer.close()
        self.store.close()

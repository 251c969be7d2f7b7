"""The set of rooms: created on first use, reloaded from disk at start, closed at shutdown."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from pathlib import Path

from edge_server.contract.names import InvalidName, validate_room_name
from edge_server.core.clock_steps import step_seen
from edge_server.core.engine_api import Recognizer, Synthesizer, Translator
from edge_server.core.glossary import Glossary, GlossaryError
from edge_server.core.settings import RoomSettings, ServerSettings
from edge_server.core.talk_board import TalkBoard
from edge_server.core.trace import PipelineTrace
from edge_server.engines.factory import build_recognizer, build_synthesizer, build_translator
from edge_server.rooms.glossary_files import room_glossary
from edge_server.rooms.live_settings_store import LiveSettingsStore
from edge_server.rooms.replication_feed import Replication
from edge_server.rooms.room import Room
from edge_server.rooms.system_clock import clock_state, load_steps, save_step
from edge_server.rooms.transcript import TranscriptStore

log = logging.getLogger(__name__)

RecognizerFactory = Callable[[str, RoomSettings, ServerSettings], Recognizer]
SynthesizerFactory = Callable[[str, RoomSettings, ServerSettings], Synthesizer | None]
TranslatorFactory = Callable[[str, RoomSettings, ServerSettings], Translator | None]
STATUS_TICK_S = 1.0


def default_recognizer_factory(name: str, room: RoomSettings, server: ServerSettings) -> Recognizer:
    """The engine a room's settings ask for (see :mod:`edge_server.engines.factory`)."""
    return build_recognizer(name, room, server)


def default_synthesizer_factory(
    name: str, room: RoomSettings, server: ServerSettings
) -> Synthesizer | None:
    """The speech engine a room's settings ask for, or None (text only)."""
    return build_synthesizer(room, server, name)


def default_translator_factory(
    name: str, room: RoomSettings, server: ServerSettings
) -> Translator | None:
    """The translator a room's settings ask for, or None."""
    return build_translator(room, server, name)


class RoomRegistry:
    """All rooms of this server."""

    def __init__(
        self,
        settings: ServerSettings,
        recognizer_factory: RecognizerFactory | None = None,
        synthesizer_factory: SynthesizerFactory | None = None,
        translator_factory: TranslatorFactory | None = None,
        trace: PipelineTrace | None = None,
    ) -> None:
        """The factories replace the engines the settings name (tests, benchmarks); ``trace``
        sees each step of every room's pipeline (the benchmark's stage breakdown)."""
        self.settings = settings
        self._factory = recognizer_factory or default_recognizer_factory
        self._synthesizer_factory = synthesizer_factory or default_synthesizer_factory
        self._translator_factory = translator_factory or default_translator_factory
        self.rooms: dict[str, Room] = {}
        self.trace = trace
        self.talks = TalkBoard(settings.schedule)
        """The conference schedule and the clock's state, shared by every room."""
        self.clock_probe: Callable[[], tuple[bool | None, str]] = clock_state
        """Asks whether the system clock is synchronized (tests replace it)."""
        self.talks.clock_steps = load_steps(settings.state_dir)
        self._unsynced_offset: float | None = None
        """``wall - monotonic`` at the last look while the clock was not synchronized."""
        self.replication = Replication(settings)
        """The rooms' replicators to Redis (when ``replicate_to`` is set)."""

    @property
    def rooms_dir(self) -> Path:
        """``{state_dir}/rooms``."""
        return self.settings.state_dir / "rooms"

    def get(self, name: str) -> Room:
        """The room called ``name``, created (and its transcript loaded) on first use.

        Raises :class:`InvalidName` for a name that breaks the rules.
        """
        room = self.rooms.get(name)
        if room is not None:
            return room
        validate_room_name(name)
        room_settings = self.settings.room(name)
        live_store = LiveSettingsStore(self.rooms_dir / name)
        live = live_store.load(room_settings)
        if live is not None:
            room_settings = live[0]
        store = TranscriptStore(
            self.rooms_dir / name / "transcript.jsonl",
            backlog_size=self.settings.backlog_max,
            fsync=self.settings.fsync,
            unsaved_max=self.settings.unsaved_max,
            min_free_bytes=self.settings.min_free_mb * 1024 * 1024,
        )
        store.load()
        room = Room(
            name,
            room_settings,
            self.settings,
            self._factory(name, room_settings, self.settings),
            store,
            translator=self._translator_factory(name, room_settings, self.settings),
            synthesizer=self._synthesizer_factory(name, room_settings, self.settings),
            rebuild_recognizer=lambda new: self._factory(name, new, self.settings),
            live_store=live_store,
            trace=self.trace,
            talks=self.talks,
            glossary=self._glossary_of(name),
        )
        room.language_override = live is not None and live[1]
        self.rooms[name] = room
        self.replication.start(room)
        log.info(
            "room %s ready (engine %s, %d finals on disk)", name, room.recognizer.name, store.count
        )
        return room

    def _glossary_of(self, name: str) -> Glossary:
        """The room's glossary files (checked at start; a file broken since is logged and the
        room goes on without it)."""
        try:
            return room_glossary(self.settings, name)
        except GlossaryError as exc:
            log.error("room %s: %s; captions go on without a glossary", name, exc)
            return Glossary()

    def load_existing(self) -> None:
        """Open every configured room and every room with a transcript on disk."""
        self.check_clock()
        names = set(self.settings.rooms)
        if self.rooms_dir.is_dir():
            names.update(p.parent.name for p in self.rooms_dir.glob("*/transcript.jsonl"))
        for name in sorted(names):
            try:
                self.get(name)
            except InvalidName:
                log.warning("ignoring %s: not a valid room name", self.rooms_dir / name)

    def check_clock(self) -> None:
        """Ask whether the system clock is synchronized; log a change (loudly when a schedule
        needs it and it is not)."""
        synchronized, detail = self.clock_probe()
        self._note_step(synchronized)
        if self.settings.trust_clock and synchronized is False:
            synchronized, detail = True, f"{detail}; trusted anyway (trust_clock)"
        if not self.talks.set_clock(synchronized, detail):
            return
        if synchronized is False and self.talks.configured:
            log.error(
                "THE SYSTEM CLOCK IS NOT SYNCHRONIZED (%s): finals are not attributed to talks "
                "until it is; check the NTP client, or set trust_clock", detail,
            )  # fmt: skip
        else:
            log.info("system clock: %s", detail)

    def _note_step(self, synchronized: bool | None) -> None:
        """Remember how far the clock jumped when it became synchronized: finals stored before
        are then attributed by their true times (saved in the state folder)."""
        offset = time.time() - time.monotonic()
        if synchronized is False:
            self._unsynced_offset = offset
            return
        if synchronized is not True or self._unsynced_offset is None:
            return
        old = self._unsynced_offset
        self._unsynced_offset = None
        before = dt.datetime.fromtimestamp(time.monotonic() + old, dt.UTC)
        step = step_seen(old, offset, before)
        self.talks.clock_steps.append(step)
        save_step(self.settings.state_dir, step)
        log.warning(
            "the system clock is synchronized now (it moved by %+.3f s): finals stored before "
            "are attributed to talks by their corrected times", step.step_s,
        )  # fmt: skip

    async def tick_status(self) -> None:
        """Forever: publish status changes (e.g. audio stopped flowing) once a second, and
        check the system clock."""
        while True:
            await asyncio.sleep(STATUS_TICK_S)
            self.check_clock()
            for room in list(self.rooms.values()):
                room.share_glossary()
                room.publish_status_if_changed()
                self.replication.start(room)

    async def close(self) -> None:
        """Close every room (replicators first: what they did not send waits on disk)."""
        await self.replication.close()
        for room in list(self.rooms.values()):
            await room.close()
        self.rooms.clear()

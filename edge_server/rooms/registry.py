"""The set of rooms: created on first use, reloaded from disk at start, closed at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from edge_server.contract.names import InvalidName, validate_room_name
from edge_server.core.engine_api import Recognizer, Synthesizer, Translator
from edge_server.core.settings import RoomSettings, ServerSettings
from edge_server.core.trace import PipelineTrace
from edge_server.engines.factory import build_recognizer, build_synthesizer, build_translator
from edge_server.rooms.live_settings_store import LiveSettingsStore
from edge_server.rooms.replication_feed import Replication
from edge_server.rooms.room import Room
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
    return build_translator(room, server)


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
        )
        room.language_override = live is not None and live[1]
        self.rooms[name] = room
        self.replication.start(room)
        log.info(
            "room %s ready (engine %s, %d finals on disk)", name, room.recognizer.name, store.count
        )
        return room

    def load_existing(self) -> None:
        """Open every configured room and every room with a transcript on disk."""
        names = set(self.settings.rooms)
        if self.rooms_dir.is_dir():
            names.update(p.parent.name for p in self.rooms_dir.glob("*/transcript.jsonl"))
        for name in sorted(names):
            try:
                self.get(name)
            except InvalidName:
                log.warning("ignoring %s: not a valid room name", self.rooms_dir / name)

    async def tick_status(self) -> None:
        """Forever: publish status changes (e.g. audio stopped flowing) once a second."""
        while True:
            await asyncio.sleep(STATUS_TICK_S)
            for room in list(self.rooms.values()):
                room.publish_status_if_changed()
                self.replication.start(room)

    async def close(self) -> None:
        """Close every room (replicators first: what they did not send waits on disk)."""
        await self.replication.close()
        for room in list(self.rooms.values()):
            await room.close()
        self.rooms.clear()

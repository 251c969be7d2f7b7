"""The set of rooms: created on first use, reloaded from disk at start, closed at shutdown."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Callable
from pathlib import Path

from edge_server.engines.base import Recognizer, Synthesizer, Translator
from edge_server.engines.factory import build_recognizer, build_synthesizer, build_translator
from edge_server.live_settings import parse_live_change
from edge_server.names import InvalidName, validate_room_name
from edge_server.room import LIVE_SETTINGS_FILE, Room
from edge_server.settings import RoomSettings, ServerSettings, SettingsError
from edge_server.transcript import TranscriptStore

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
    return build_synthesizer(room, server)


def default_translator_factory(
    name: str, room: RoomSettings, server: ServerSettings
) -> Translator | None:
    """The translator a room's settings ask for, or None."""
    return build_translator(room, server)


def load_live_settings(path: Path, configured: RoomSettings) -> tuple[RoomSettings, bool] | None:
    """The tech lead's saved live changes over the configured settings, and whether the
    language was chosen by the tech lead (it then wins over the node's hello); None if none.

    A file that is unreadable or no longer valid (the configuration changed) is ignored with a
    warning: the configured settings win.
    """
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return None
    if not isinstance(data, dict):
        log.warning("ignoring %s: not a JSON object", path)
        return None
    try:
        change = parse_live_change(
            {k: data[k] for k in ("source_lang", "languages", "targets") if k in data}
        )
        settings = dataclasses.replace(
            configured,
            **{k: v for k, v in dataclasses.asdict(change).items() if v is not None},
        )
        return settings, bool(data.get("language_override", True))
    except (SettingsError, TypeError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return None


class RoomRegistry:
    """All rooms of this server."""

    def __init__(
        self,
        settings: ServerSettings,
        recognizer_factory: RecognizerFactory | None = None,
        synthesizer_factory: SynthesizerFactory | None = None,
        translator_factory: TranslatorFactory | None = None,
    ) -> None:
        self.settings = settings
        self._factory = recognizer_factory or default_recognizer_factory
        self._synthesizer_factory = synthesizer_factory or default_synthesizer_factory
        self._translator_factory = translator_factory or default_translator_factory
        self.rooms: dict[str, Room] = {}

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
        live = load_live_settings(self.rooms_dir / name / LIVE_SETTINGS_FILE, room_settings)
        if live is not None:
            room_settings = live[0]
        store = TranscriptStore(
            self.rooms_dir / name / "transcript.jsonl",
            backlog_size=self.settings.backlog_max,
            fsync=self.settings.fsync,
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
        )
        room.language_override = live is not None and live[1]
        self.rooms[name] = room
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

    async def close(self) -> None:
        """Close every room."""
        for room in list(self.rooms.values()):
            await room.close()
        self.rooms.clear()

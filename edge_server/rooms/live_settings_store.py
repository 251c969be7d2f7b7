"""The tech lead's live changes to a room (languages, targets), kept across restarts in
``{state_dir}/rooms/{room}/live-settings.json``: loaded over the configured settings at start,
saved after each change. The one place that reads and writes that file."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
from pathlib import Path

from edge_server.core.live_settings import parse_live_change
from edge_server.core.settings import RoomSettings, SettingsError

log = logging.getLogger(__name__)

LIVE_SETTINGS_FILE = "live-settings.json"


class LiveSettingsStore:
    """The live settings file of one room."""

    def __init__(self, room_dir: Path) -> None:
        self.path = room_dir / LIVE_SETTINGS_FILE

    def load(self, configured: RoomSettings) -> tuple[RoomSettings, bool] | None:
        """The saved live changes over ``configured``, and whether the language was chosen by
        the tech lead (it then wins over the node's hello); None if nothing is saved.

        A file that is unreadable or no longer valid (the configuration changed) is ignored
        with a warning: the configured settings win.
        """
        path = self.path
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

    def save(self, settings: RoomSettings, language_override: bool) -> None:
        """Write the live settings atomically (a temporary file renamed over the old one).

        Raises OSError when the file cannot be written (a full or read-only disk: the room
        keeps the change in memory and says so); the old file then stays as it was, and a
        half-written temporary file is removed.
        """
        data = {
            "source_lang": settings.source_lang,
            "languages": list(settings.languages),
            "targets": list(settings.targets),
            "language_override": language_override,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(data, indent=1) + "\n")
            tmp.replace(self.path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

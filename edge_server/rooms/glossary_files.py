"""Glossary files: read the conference's and each room's glossary (TOML) from disk.

At start every configured glossary is read (:func:`check_glossaries`): an unreadable file or a
syntax error stops the server naming the file and the line. A room's glossary is the
conference's with the room's added, plus the schedule's speakers and title words.
"""

from __future__ import annotations

from pathlib import Path

from edge_server.core.glossary import Glossary, GlossaryError, parse_glossary
from edge_server.core.settings import ServerSettings


def load_glossary(path: Path | None) -> Glossary:
    """The glossary in ``path`` (an empty one for None); :class:`GlossaryError` naming it."""
    if path is None:
        return Glossary()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GlossaryError(f"glossary {path}: cannot read it: {exc}") from None
    return parse_glossary(text, str(path))


def room_glossary(settings: ServerSettings, room: str) -> Glossary:
    """The conference's glossary with the room's own added."""
    base = load_glossary(settings.glossary)
    own = settings.room(room).glossary
    return base.merged(load_glossary(Path(own))) if own else base


def check_glossaries(settings: ServerSettings) -> None:
    """Read every configured glossary once; raise :class:`GlossaryError` for the first bad one."""
    load_glossary(settings.glossary)
    for name in settings.rooms:
        room_glossary(settings, name)

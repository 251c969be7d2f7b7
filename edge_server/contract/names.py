"""Validation of the names that arrive from the network: room names and language codes.

Pure functions, no I/O. Each raises :class:`InvalidName` with a message fit to show a client.
"""

from __future__ import annotations

import re

ROOM_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
LANGUAGE_RE = re.compile(r"([a-z]{2,3})(?:-([A-Z]{2}|[0-9]{3}))?")


class InvalidName(ValueError):
    """A room name or language code that does not follow the rules in docs/protocol.md."""


def validate_room_name(name: str) -> str:
    """Return ``name`` if it is a valid room name, else raise :class:`InvalidName`.

    Rules: 1-32 characters of ``a-z 0-9 - _``, starting with a letter or digit.
    """
    if not isinstance(name, str) or ROOM_NAME_RE.fullmatch(name) is None:
        shown = repr(name)[:40]
        raise InvalidName(
            f"invalid room name {shown}: use 1-32 characters of a-z, 0-9, '-' and '_', "
            "starting with a letter or digit"
        )
    return name


def validate_language(code: str) -> str:
    """Return ``code`` if it looks like ``xx`` or ``xx-YY`` (BCP 47 language[-region])."""
    if not isinstance(code, str) or LANGUAGE_RE.fullmatch(code) is None:
        shown = repr(code)[:40]
        raise InvalidName(f"invalid language code {shown}: expected a code like 'en-US' or 'it'")
    return code


def base_language(code: str) -> str:
    """The language part of a code: ``'en-US' -> 'en'``."""
    return code.split("-", 1)[0]

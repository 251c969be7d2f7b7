"""Structured log fields (``ROOM=``, ``SESSION=``, ``ENGINE=``, ``TALK=``...) for journald.

A field is bound to the *context* of the code that logs, not to a logger: set it where the
value becomes known (``set_log_fields(session=...)`` when a stream starts) and every line
logged afterwards from that task, and from the tasks and threads it starts
(``asyncio.create_task`` and ``asyncio.to_thread`` copy the context), carries it. A single
line may add its own with ``extra={"ENGINE": name}``. :class:`LogFieldsFilter` puts the
context's fields on each record; the journal handler sends every upper-case record attribute
as a field, so ``journalctl -u edge-server ROOM=aula-magna`` finds a room's lines.

Names follow journald's rules: ``A-Z``, ``0-9`` and ``_``, starting with a letter, at most 64
characters (keyword arguments are upper-cased: ``room=`` is ``ROOM=``). Pure: no I/O.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar

KNOWN_FIELDS = ("ROOM", "SESSION", "ENGINE", "TALK")
"""The fields the programs set (TALK once talks exist); any other valid name works too."""

_FIELD_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_FIELDS: ContextVar[Mapping[str, str]] = ContextVar("edge_log_fields", default={})  # noqa: B039


def is_field_name(name: str) -> bool:
    """Whether ``name`` is a journal field a program may set (``ROOM``; not ``_PID``, ``room``)."""
    return _FIELD_NAME.fullmatch(name) is not None


def field_name(key: str) -> str:
    """``key`` upper-cased as a journal field name; ValueError when it cannot be one."""
    name = key.upper()
    if not is_field_name(name):
        raise ValueError(
            f"not a journal field name: {key!r} (letters, digits and _, a letter first, <= 64)"
        )
    return name


def _merged(fields: Mapping[str, object | None]) -> dict[str, str]:
    merged = dict(_FIELDS.get())
    for key, value in fields.items():
        name = field_name(key)
        if value is None or value == "":
            merged.pop(name, None)
        else:
            merged[name] = str(value)
    return merged


def set_log_fields(**fields: object | None) -> None:
    """Add fields to the current context (a task's own copy); None or ``""`` removes one.

    Use it where the context ends with the task (a connection's handler, a node's run);
    elsewhere :func:`log_fields` restores the previous fields on leaving.
    """
    _FIELDS.set(_merged(fields))


@contextlib.contextmanager
def log_fields(**fields: object | None) -> Iterator[None]:
    """The fields for the lines logged inside the ``with`` block (restored after it)."""
    token = _FIELDS.set(_merged(fields))
    try:
        yield
    finally:
        _FIELDS.reset(token)


def current_log_fields() -> dict[str, str]:
    """The fields of the current context."""
    return dict(_FIELDS.get())


class LogFieldsFilter(logging.Filter):
    """Copies the context's fields onto each record (``record.ROOM``...); a field given with
    ``extra=`` on the line itself wins. Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the fields; always True."""
        for name, value in _FIELDS.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


def record_fields(record: logging.LogRecord) -> dict[str, str]:
    """The journal fields a record carries: its upper-case attributes that are valid names."""
    return {
        name: str(value)
        for name, value in vars(record).items()
        if is_field_name(name) and value is not None
    }

"""Where the programs' log lines go: to journald with fields, or as plain text to stderr.

Under systemd (``$JOURNAL_STREAM`` names this process's stderr) and with systemd-python
loadable (:mod:`.systemd_binding`), lines go through ``systemd.journal.JournalHandler``: the
level as ``PRIORITY=``, ``LOGGER=``, ``CODE_*=``, ``SYSLOG_IDENTIFIER=`` the program's name, and
the fields of :mod:`.log_fields` (``ROOM=``, ``SESSION=``, ``ENGINE=``...), so
``journalctl -u edge-server ROOM=aula-magna`` is one room's log. Anywhere else (a terminal, a
laptop, a Pi without ``python3-systemd``) lines are plain text on stderr, as before; journald
then stores them without fields. A line the journal refuses is written to stderr instead.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from edge_server.contract.log_fields import LogFieldsFilter, is_field_name
from edge_server.contract.systemd_binding import SystemdPython, systemd_python

JOURNAL_FORMAT = "%(levelname)s %(name)s: %(message)s"
"""MESSAGE= of a journal entry (journald keeps the time; the level is also PRIORITY=)."""
_NOT_SENT = frozenset({"EXCEPTION_INFO"})
"""Fields JournalHandler would add that say nothing EXCEPTION_TEXT does not (a tuple's repr)."""

log = logging.getLogger(__name__)


def under_journald(environ: Mapping[str, str], stderr_fd: int = 2) -> bool:
    """Whether stderr is journald's stream: ``$JOURNAL_STREAM`` (``device:inode``) names it,
    as systemd.exec(5) says to check (a child whose stderr was redirected is not)."""
    value = environ.get("JOURNAL_STREAM", "")
    device, _, inode = value.partition(":")
    try:
        stat = os.fstat(stderr_fd)
        return (int(device), int(inode)) == (stat.st_dev, stat.st_ino)
    except (OSError, ValueError):
        return False


def _sender(send: Callable[..., Any]) -> Callable[..., None]:
    """``send`` keeping only valid field names; a refused line goes to stderr."""

    def send_fields(text: str, /, **fields: Any) -> None:
        # JournalHandler passes every attribute of the record (msg, args, message...) along.
        kept = {k: v for k, v in fields.items() if is_field_name(k) and k not in _NOT_SENT}
        try:
            send(text, **kept)
        except OSError:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    return send_fields


def journal_handler(identifier: str, binding: SystemdPython) -> logging.Handler:
    """A handler sending records to journald with their fields, as ``identifier``."""
    handler = binding.journal_handler(
        sender_function=_sender(binding.send), SYSLOG_IDENTIFIER=identifier
    )
    handler.addFilter(LogFieldsFilter())
    handler.setFormatter(logging.Formatter(JOURNAL_FORMAT))
    return handler


def configure_logging(
    identifier: str,
    level: str | int,
    plain_format: str,
    *,
    environ: Mapping[str, str] | None = None,
    binding: SystemdPython | None = None,
) -> str:
    """Set up the root logger for program ``identifier`` (``edge-server``) at ``level``.

    Returns where lines go: ``"journal"`` (with fields) or ``"stderr"`` (``plain_format``).
    Like ``logging.basicConfig``, leaves a root logger that already has handlers alone (only
    its level is set) and returns ``"unchanged"``. ``binding`` defaults to
    :func:`~.systemd_binding.systemd_python`.
    """
    env = os.environ if environ is None else environ
    root = logging.getLogger()
    root.setLevel(level)
    if root.handlers:
        return "unchanged"
    journald = under_journald(env)
    found = binding if binding is not None else systemd_python() if journald else None
    if journald and found is not None:
        root.addHandler(journal_handler(identifier, found))
        log.debug("logging to the journal with fields (systemd-python in %s)", found.origin)
        return "journal"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(plain_format))
    root.addHandler(handler)
    if journald:
        log.warning(
            "systemd-python not found (Debian's python3-systemd): log lines carry no "
            "ROOM/SESSION/ENGINE fields"
        )
    return "stderr"

"""systemd's notify protocol (READY=1, WATCHDOG=1, STATUS=, STOPPING=1); used by edge-audio and
edge-server. A no-op without NOTIFY_SOCKET.

:func:`format_notify` is pure. :class:`Notifier` sends through systemd-python's
``systemd.daemon.notify`` (sd_notify(3), libsystemd) when it is loadable
(:mod:`.systemd_binding`: the ``journal`` extra, or Debian's ``python3-systemd`` on the Pis)
and the address is the process's own ``$NOTIFY_SOCKET``; otherwise (no systemd-python, or an
environment given explicitly, as tests and stand-ins do) it writes the same datagram with the
standard library's ``socket``, so a unit never waits for a READY=1 that a missing package
swallowed. Without ``NOTIFY_SOCKET`` (not under systemd, or not ``Type=notify``) every call is
a no-op. An address starting with ``@`` is in Linux's abstract namespace.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping

from edge_server.contract.systemd_binding import systemd_python

log = logging.getLogger(__name__)

MAX_STATUS = 200
"""``STATUS=`` is cut to this many characters (systemctl status shows one line)."""


def format_notify(
    *,
    ready: bool = False,
    watchdog: bool = False,
    stopping: bool = False,
    status: str | None = None,
) -> bytes:
    """The datagram for the given fields, e.g. ``b"READY=1\\nSTATUS=streaming\\n"``.

    ``status`` is made one line (newlines become spaces) and cut to :data:`MAX_STATUS`.
    Returns ``b""`` when nothing is set.
    """
    lines = []
    if ready:
        lines.append("READY=1")
    if stopping:
        lines.append("STOPPING=1")
    if watchdog:
        lines.append("WATCHDOG=1")
    if status is not None:
        one_line = " ".join(status.split())[:MAX_STATUS]
        lines.append(f"STATUS={one_line}")
    return "".join(f"{line}\n" for line in lines).encode()


def socket_address(value: str | None) -> str | bytes | None:
    """The address to send to for a ``NOTIFY_SOCKET`` value: a path, or for ``@name`` the
    abstract name as bytes (``b"\\0name"``). None for an empty or unusable value."""
    if not value:
        return None
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    if value.startswith("/"):
        return value
    return None


def watchdog_interval(environ: Mapping[str, str], pid: int) -> float | None:
    """How often to send ``WATCHDOG=1`` (half of ``WATCHDOG_USEC``), or None when systemd does
    not watch this process (no ``WATCHDOG_USEC``, or ``WATCHDOG_PID`` names another process)."""
    watched_pid = environ.get("WATCHDOG_PID")
    if watched_pid and watched_pid.strip() != str(pid):
        return None
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 2e6 if usec > 0 else None


class Notifier:
    """Sends notify datagrams to systemd; does nothing when not configured."""

    def __init__(
        self, environ: Mapping[str, str] | None = None, *, use_systemd_python: bool = True
    ) -> None:
        """Reads ``NOTIFY_SOCKET``, ``WATCHDOG_USEC`` and ``WATCHDOG_PID`` from ``environ``
        (default: the process environment). ``use_systemd_python=False`` keeps to the
        standard library even where systemd-python is there."""
        env = os.environ if environ is None else environ
        self.address = socket_address(env.get("NOTIFY_SOCKET"))
        self.watchdog_s = watchdog_interval(env, os.getpid()) if self.address else None
        self._sock: socket.socket | None = None
        self._warned = False
        self._last_status: str | None = None
        binding = systemd_python() if use_systemd_python and env is os.environ else None
        self._sd_notify: Callable[[str], bool] | None = (
            binding.notify if binding is not None and self.address is not None else None
        )

    @property
    def backend(self) -> str:
        """How datagrams are sent: ``"systemd-python"``, ``"socket"``, or ``"off"``."""
        if self.address is None:
            return "off"
        return "systemd-python" if self._sd_notify is not None else "socket"

    @property
    def enabled(self) -> bool:
        """True under systemd with ``Type=notify``."""
        return self.address is not None

    def notify(
        self,
        *,
        ready: bool = False,
        watchdog: bool = False,
        stopping: bool = False,
        status: str | None = None,
    ) -> bool:
        """Send the fields given; True when a datagram was sent."""
        if self.address is None:
            return False
        payload = format_notify(ready=ready, watchdog=watchdog, stopping=stopping, status=status)
        if not payload:
            return False
        if self._sd_notify is not None:
            return self._notify_libsystemd(payload)
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.setblocking(False)
            self._sock.sendto(payload, self.address)
        except OSError as exc:
            if not self._warned:
                log.warning("cannot notify systemd at %r: %s", self.address, exc)
                self._warned = True
            return False
        return True

    def _notify_libsystemd(self, payload: bytes) -> bool:
        assert self._sd_notify is not None
        try:
            sent = bool(self._sd_notify(payload.decode()))
        except (OSError, ValueError) as exc:
            sent, error = False, str(exc)
        else:
            error = "sd_notify sent nothing"
        if not sent and not self._warned:
            log.warning("cannot notify systemd at %r: %s", self.address, error)
            self._warned = True
        return sent

    def status(self, text: str) -> bool:
        """Send ``STATUS=text`` unless it is the status sent last."""
        if text == self._last_status:
            return False
        self._last_status = text
        return self.notify(status=text)

    def close(self) -> None:
        """Close the socket; safe to call more than once."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

"""A stand-in for journald's native socket, and a way to make a child process send to it.

libsystemd (behind systemd-python's ``journal.send``) writes to the fixed path
``/run/systemd/journal/socket``; there is no setting to point it elsewhere. So the child runs in
a private mount namespace (``unshare --mount``) in which a folder of the test is bind-mounted
over ``/run``: the child's libsystemd sends to ``/run/systemd/journal/socket``, which is the
socket :class:`StandInJournal` bound in that folder. Nothing changes for any other process of
the machine (the mount exists only in the child's namespace). Needs root, as these machines'
tests run.

The receiving side reads the native protocol as journald does (systemd's
``JOURNAL_NATIVE_PROTOCOL``): ``NAME=value\\n`` fields, or ``NAME\\n`` + a little-endian 64-bit
size + the value + ``\\n`` for values with newlines; an entry too big for a datagram comes as a
memfd passed with ``SCM_RIGHTS``.
"""

from __future__ import annotations

import array
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

JOURNAL_PATH = Path("systemd/journal/socket")
"""The socket's path below ``/run``."""


def parse_entry(data: bytes) -> dict[str, str]:
    """The fields of one native-protocol datagram (values decoded as UTF-8)."""
    fields: dict[str, str] = {}
    at = 0
    while at < len(data):
        end = data.index(b"\n", at)
        line = data[at:end]
        if b"=" in line:
            name, value = line.split(b"=", 1)
            at = end + 1
        else:
            name = line
            size = int.from_bytes(data[end + 1 : end + 9], "little")
            value = data[end + 9 : end + 9 + size]
            assert data[end + 9 + size : end + 10 + size] == b"\n", "a binary field ends with \\n"
            at = end + 10 + size
        fields[name.decode()] = value.decode(errors="replace")
    return fields


class StandInJournal:
    """Binds ``root/systemd/journal/socket`` and collects what is sent to it, in a thread."""

    def __init__(self, root: Path) -> None:
        self.root = root
        path = root / JOURNAL_PATH
        path.parent.mkdir(parents=True, exist_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.entries: list[dict[str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        fd_size = array.array("i").itemsize
        while not self._stop.is_set():
            try:
                data, ancdata, _, _ = self.sock.recvmsg(1 << 17, socket.CMSG_SPACE(4 * fd_size))
            except TimeoutError:
                continue
            except OSError:
                return
            for level, kind, payload in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds = array.array("i")
                    fds.frombytes(payload[: len(payload) - len(payload) % fd_size])
                    for fd in fds:
                        with os.fdopen(fd, "rb") as memfd:
                            memfd.seek(0)
                            data += memfd.read()
            if data:
                self.entries.append(parse_entry(data))

    def matching(self, **fields: str) -> list[dict[str, str]]:
        """The entries whose fields include all of ``fields``."""
        return [e for e in self.entries if all(e.get(k) == v for k, v in fields.items())]

    def wait_for(self, text: str, timeout: float = 30.0) -> dict[str, str]:
        """The first entry whose MESSAGE contains ``text``; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in list(self.entries):
                if text in entry.get("MESSAGE", ""):
                    return entry
            time.sleep(0.05)
        messages = [e.get("MESSAGE") for e in self.entries]
        raise AssertionError(f"no journal entry with {text!r} in {timeout:g} s: {messages}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def in_journal_namespace(root: Path, argv: Sequence[str]) -> list[str]:
    """``argv`` run in a private mount namespace where ``root`` is mounted over ``/run``."""
    script = 'mount --bind "$0" /run && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(root), *argv]


def namespace_problem() -> str | None:
    """Why :func:`in_journal_namespace` cannot work here (None: it can)."""
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if probe.returncode != 0:
        return f"cannot make a mount namespace (needs root): {probe.stderr.strip()}"
    return None


def journal_stream(stderr_file: int) -> str:
    """``$JOURNAL_STREAM`` naming ``stderr_file`` (an open file descriptor), as systemd sets it
    for a service whose stderr is journald's stream."""
    stat = os.fstat(stderr_file)
    return f"{stat.st_dev}:{stat.st_ino}"

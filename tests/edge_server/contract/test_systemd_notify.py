"""systemd notify: datagram formatting (pure) and delivery to a real AF_UNIX datagram socket."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_server.contract.systemd_binding import systemd_python
from edge_server.contract.systemd_notify import (
    Notifier,
    format_notify,
    socket_address,
    watchdog_interval,
)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, b""),
        ({"ready": True}, b"READY=1\n"),
        ({"watchdog": True}, b"WATCHDOG=1\n"),
        ({"ready": True, "status": "streaming"}, b"READY=1\nSTATUS=streaming\n"),
        ({"stopping": True, "status": "a\nb  c"}, b"STOPPING=1\nSTATUS=a b c\n"),
        ({"status": "x" * 300}, b"STATUS=" + b"x" * 200 + b"\n"),
        ({"status": "caf\u00e9"}, "STATUS=caf\u00e9\n".encode()),
    ],
)
def test_format(kwargs: dict[str, object], expected: bytes) -> None:
    assert format_notify(**kwargs) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), ("relative", None), ("/run/systemd/notify", "/run/systemd/notify"),
     ("@sd-notify-1", b"\0sd-notify-1")],
)  # fmt: skip
def test_address(value: str | None, expected: object) -> None:
    assert socket_address(value) == expected


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "20000000"}, 10.0),
        ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "4242"}, 10.0),
        ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"}, None),
        ({"WATCHDOG_USEC": "x"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
    ],
)
def test_watchdog_interval(env: dict[str, str], expected: float | None) -> None:
    assert watchdog_interval(env, 4242) == expected


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(tmp_path / "notify")
    sock.bind(path)
    sock.settimeout(5)
    yield sock, path
    sock.close()


def test_sends_to_a_path_socket(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "6000000", "WATCHDOG_PID": str(os.getpid())}
    notifier = Notifier(env)
    assert notifier.enabled
    assert notifier.watchdog_s == 3.0
    assert notifier.notify(ready=True, status="capturing")
    assert sock.recv(4096) == b"READY=1\nSTATUS=capturing\n"
    assert notifier.notify(watchdog=True)
    assert sock.recv(4096) == b"WATCHDOG=1\n"
    assert notifier.status("a")
    assert not notifier.status("a")
    assert notifier.status("b")
    assert sock.recv(4096) == b"STATUS=a\n"
    assert sock.recv(4096) == b"STATUS=b\n"
    notifier.close()
    notifier.close()


def test_sends_to_an_abstract_socket() -> None:
    name = f"edge-audio-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(5)
        notifier = Notifier({"NOTIFY_SOCKET": f"@{name}"})
        assert notifier.notify(stopping=True)
        assert sock.recv(4096) == b"STOPPING=1\n"
        notifier.close()


def test_no_op_without_systemd(tmp_path: Path) -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.watchdog_s is None
    assert not notifier.notify(ready=True)
    gone = Notifier({"NOTIFY_SOCKET": str(tmp_path / "nobody")})
    assert not gone.notify(ready=True)  # logged once, never raised
    assert not gone.notify(watchdog=True)


# systemd-python's path: sd_notify(3) from libsystemd reads the process's $NOTIFY_SOCKET.
requires_systemd_python = pytest.mark.skipif(
    systemd_python() is None,
    reason="systemd-python is not installed (scripts/setup-system.sh test installs libsystemd-dev)",
)


@requires_systemd_python
def test_libsystemd_sends_to_the_process_socket(
    listener: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sock, path = listener
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "4000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    notifier = Notifier()
    assert notifier.backend == "systemd-python"
    assert notifier.watchdog_s == 2.0
    assert notifier.notify(ready=True, status="waiting for audio from USB Mixer")
    assert sock.recv(4096) == b"READY=1\nSTATUS=waiting for audio from USB Mixer\n"
    assert notifier.notify(watchdog=True)
    assert sock.recv(4096) == b"WATCHDOG=1\n"
    assert notifier.status("capturing")
    assert sock.recv(4096) == b"STATUS=capturing\n"
    notifier.close()


@requires_systemd_python
def test_libsystemd_to_a_missing_socket_warns_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody"))
    notifier = Notifier()
    assert notifier.backend == "systemd-python"
    assert not notifier.notify(ready=True)
    assert not notifier.notify(watchdog=True)
    assert sum("cannot notify systemd" in r.getMessage() for r in caplog.records) == 1


def test_standard_library_when_asked_or_given_an_environment(
    listener: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sock, path = listener
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    plain = Notifier(use_systemd_python=False)
    assert plain.backend == "socket"
    assert plain.notify(ready=True)
    assert sock.recv(4096) == b"READY=1\n"
    given = Notifier({"NOTIFY_SOCKET": path})  # libsystemd reads only the process's own
    assert given.backend == "socket"
    assert given.notify(stopping=True)
    assert sock.recv(4096) == b"STOPPING=1\n"
    assert Notifier({}).backend == "off"
    plain.close()
    given.close()

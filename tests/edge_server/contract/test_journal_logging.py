"""Log lines to journald with their fields, through the real systemd-python and libsystemd, into a
stand-in journal socket (tests/helpers/journal_socket.py: a private mount namespace puts the
test's socket where libsystemd sends); and the two other routes: no systemd-python at all (plain
stderr, notify by the standard library) and Debian's python3-systemd in a virtual environment
without system site-packages (the Pis)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_server.contract.systemd_binding import DEBIAN_DIST_PACKAGES, systemd_python
from tests.helpers.journal_socket import (
    StandInJournal,
    in_journal_namespace,
    journal_stream,
    namespace_problem,
)
from tests.helpers.paths import ROOT

_problem = namespace_problem()
pytestmark = pytest.mark.skipif(_problem is not None, reason=_problem or "")

CHILD = r"""
import asyncio, logging, sys
from edge_server.contract.journal_logging import configure_logging
from edge_server.contract.log_fields import log_fields, set_log_fields
from edge_server.contract.systemd_binding import systemd_python
from edge_server.contract.systemd_notify import Notifier

where = configure_logging("edge-test", "INFO", "%(levelname)s %(name)s: %(message)s")
binding = systemd_python()
notifier = Notifier()
notifier.notify(ready=True, status="waiting")
print(where, binding.origin if binding else None, notifier.backend, flush=True)
print(any("dist-packages" in p for p in sys.path), flush=True)
log = logging.getLogger("edge_test.rooms")
log.info("no room here")

async def session():
    set_log_fields(session="s-1", engine="pocketsphinx")
    log.info("session line")
    await asyncio.to_thread(log.info, "thread line")
    log.info("switched", extra={"ENGINE": "transcribe", "lower": "dropped"})

async def main():
    set_log_fields(room="aula-magna")
    await asyncio.create_task(session())
    log.warning("room line after the session")
    with log_fields(talk="opening-keynote"):
        log.info("talk line\nsecond line")
    log.info("after the talk")
    try:
        1 / 0
    except ZeroDivisionError:
        log.exception("failed")

asyncio.run(main())
"""

NO_SYSTEMD_PYTHON = (
    "import sys\n"
    "import edge_server.contract.systemd_binding as binding\n"
    "binding.DEBIAN_DIST_PACKAGES = ()\n"
    "sys.modules['systemd'] = None\n"
)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[StandInJournal]:
    stand_in = StandInJournal(tmp_path / "run")
    yield stand_in
    stand_in.close()


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(tmp_path / "notify")
    sock.bind(path)
    sock.settimeout(5)
    yield sock, path
    sock.close()


def run_child(
    python: str, script: str, journal: StandInJournal, notify: str, tmp_path: Path
) -> tuple[list[str], str]:
    """Run ``script`` under ``python`` as systemd would run a service: stderr is journald's
    stream ($JOURNAL_STREAM), $NOTIFY_SOCKET set; its stdout lines and its stderr."""
    stderr_path = tmp_path / "stderr"
    env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    env.update(PYTHONPATH=str(ROOT), NOTIFY_SOCKET=notify)
    with stderr_path.open("wb") as stderr:
        env["JOURNAL_STREAM"] = journal_stream(stderr.fileno())
        out = subprocess.run(
            in_journal_namespace(journal.root, [python, "-c", script]),
            stdout=subprocess.PIPE, stderr=stderr, env=env, timeout=120, check=False,
        )  # fmt: skip
    err = stderr_path.read_text()
    assert out.returncode == 0, err
    return out.stdout.decode().splitlines(), err


def assert_fields(journal: StandInJournal) -> None:
    """What the child's lines carry to the journal."""
    first = journal.wait_for("no room here")
    assert "ROOM" not in first
    assert first["SYSLOG_IDENTIFIER"] == "edge-test"
    assert first["LOGGER"] == "edge_test.rooms"
    assert first["PRIORITY"] == "6"
    assert first["MESSAGE"] == "INFO edge_test.rooms: no room here"
    session = journal.wait_for("session line")
    assert (session["ROOM"], session["SESSION"], session["ENGINE"]) == (
        "aula-magna", "s-1", "pocketsphinx",
    )  # fmt: skip
    thread = journal.wait_for("thread line")  # asyncio.to_thread copies the context
    assert (thread["ROOM"], thread["SESSION"]) == ("aula-magna", "s-1")
    switched = journal.wait_for("switched")
    assert switched["ENGINE"] == "transcribe", "extra= on the line wins over the context"
    assert all(name.isupper() for name in switched), "only journal field names are sent"
    after = journal.wait_for("room line after the session")
    assert after["ROOM"] == "aula-magna"
    assert "SESSION" not in after, "a task's fields stay in that task"
    assert after["PRIORITY"] == "4"
    talk = journal.wait_for("talk line")
    assert talk["TALK"] == "opening-keynote"
    assert talk["MESSAGE"].endswith("talk line\nsecond line"), "newlines survive (binary field)"
    assert "TALK" not in journal.wait_for("after the talk")
    failed = journal.wait_for("failed")
    assert failed["PRIORITY"] == "3"
    assert "ZeroDivisionError" in failed["EXCEPTION_TEXT"]
    assert "EXCEPTION_INFO" not in failed
    assert len(journal.matching(ROOM="aula-magna")) == 7


@pytest.mark.skipif(systemd_python() is None, reason="systemd-python is not installed")
def test_fields_reach_the_journal_through_systemd_python(
    journal: StandInJournal, notify_socket: tuple[socket.socket, str], tmp_path: Path
) -> None:
    sock, path = notify_socket
    out, err = run_child(sys.executable, CHILD, journal, path, tmp_path)
    where, _, backend = out[0].split()
    assert (where, backend) == ("journal", "systemd-python")
    assert sock.recv(4096) == b"READY=1\nSTATUS=waiting\n"
    assert_fields(journal)
    assert "session line" not in err, "not written twice (the journal has it)"


def test_without_systemd_python_plain_stderr_and_a_working_notify(
    journal: StandInJournal, notify_socket: tuple[socket.socket, str], tmp_path: Path
) -> None:
    sock, path = notify_socket
    out, err = run_child(sys.executable, NO_SYSTEMD_PYTHON + CHILD, journal, path, tmp_path)
    assert out[0] == "stderr None socket"
    assert sock.recv(4096) == b"READY=1\nSTATUS=waiting\n"
    assert "systemd-python not found (Debian's python3-systemd)" in err
    assert "INFO edge_test.rooms: session line" in err.splitlines()
    assert "ZeroDivisionError" in err
    assert journal.entries == [], "nothing sent to the journal's native socket"


def _debian_python() -> str | None:
    python = "/usr/bin/python3"
    if not os.path.exists(python):
        return None
    for folder in DEBIAN_DIST_PACKAGES:
        if any(Path(folder, "systemd").glob("_journal.*.so")):
            return python
    return None


@pytest.mark.skipif(
    _debian_python() is None, reason="needs Debian's python3 and python3-systemd (setup-system)"
)
def test_debian_python3_systemd_in_a_plain_virtual_environment(
    journal: StandInJournal, notify_socket: tuple[socket.socket, str], tmp_path: Path
) -> None:
    """The Pis' route: a venv of Debian's python3 without system site-packages (as the role
    makes it) finds Debian's python3-systemd, and only that package of dist-packages."""
    venv = tmp_path / "venv"
    subprocess.run(
        [str(_debian_python()), "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = str(venv / "bin" / "python")
    no_import = subprocess.run(
        [python, "-c", "import systemd.daemon"],
        capture_output=True, cwd=tmp_path, timeout=60, check=False,
    )  # fmt: skip
    assert no_import.returncode == 1, "the venv alone does not see Debian's packages"
    sock, path = notify_socket
    out, _ = run_child(python, CHILD, journal, path, tmp_path)
    where, origin, backend = out[0].split()
    assert (where, origin, backend) == (
        "journal", f"{DEBIAN_DIST_PACKAGES[0]}/systemd", "systemd-python",
    )  # fmt: skip
    assert out[1] == "False", "dist-packages never joins the import path"
    assert sock.recv(4096) == b"READY=1\nSTATUS=waiting\n"
    assert_fields(journal)


def test_a_systemd_built_for_another_python_is_left_alone(tmp_path: Path) -> None:
    """A dist-packages copy whose compiled modules are for another Python: not loaded, and no
    half-imported ``systemd`` left behind."""
    fake = tmp_path / "dist-packages" / "systemd"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "daemon.py").write_text("from ._daemon import notify\n")
    (fake / "_daemon.cpython-27-sparc-linux-gnu.so").write_bytes(b"\x7fELF")
    script = (
        NO_SYSTEMD_PYTHON
        + "from edge_server.contract.systemd_binding import load_systemd_python\n"
        + f"print(load_systemd_python([{str(fake.parent)!r}]), 'systemd' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60, check=True,
    )  # fmt: skip
    assert out.stdout.split() == ["None", "False"]

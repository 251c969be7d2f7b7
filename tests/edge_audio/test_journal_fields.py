"""``edge-audio run`` as systemd starts it in a room whose mixer is off: READY=1 at once with a
"waiting for audio" STATUS and watchdog pings (through libsystemd's sd_notify to a stand-in
NOTIFY_SOCKET), and its log lines in the journal with ROOM=, then SESSION= once the server
named the stream (through a stand-in journal socket: tests/helpers/journal_socket.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_server.contract.systemd_binding import systemd_python
from tests.helpers.journal_socket import (
    StandInJournal,
    in_journal_namespace,
    journal_stream,
    namespace_problem,
)
from tests.helpers.live_server import LiveServer
from tests.helpers.paths import ROOT
from tests.helpers.processes import EDGE_AUDIO
from tests.helpers.waiting import wait_until

_problem = namespace_problem() or (
    "systemd-python is not installed" if systemd_python() is None else None
)
pytestmark = pytest.mark.skipif(_problem is not None, reason=_problem or "")
STEP = 30.0


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.setblocking(False)
    yield sock
    sock.close()


async def _read_notes(sock: socket.socket, into: list[str]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        into.extend((await loop.sock_recv(sock, 4096)).decode().splitlines())


async def test_no_mixer_ready_waiting_with_fields_in_the_journal(
    server: LiveServer, notify_socket: socket.socket, tmp_path: Path
) -> None:
    env_file = tmp_path / "edge-audio.env"
    env_file.write_text(
        f"EDGE_AUDIO_SERVER={server.http}\nEDGE_AUDIO_ROOM=aula-magna\nEDGE_AUDIO_LANG=en-US\n"
        'EDGE_AUDIO_DEVICE="Behringer|UMC"\n'
    )
    runtime = tmp_path / "xdg"  # no PipeWire here, and no such ALSA card: the mixer is off
    runtime.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDGE_AUDIO_", "PIPEWIRE"))}
    env.update(
        PYTHONPATH=str(ROOT), XDG_RUNTIME_DIR=str(runtime),
        NOTIFY_SOCKET=str(tmp_path / "notify"), WATCHDOG_USEC="1000000",
    )  # fmt: skip
    journal = StandInJournal(tmp_path / "run")
    notes: list[str] = []
    reader = asyncio.create_task(_read_notes(notify_socket, notes))
    stderr_path = tmp_path / "stderr"
    with stderr_path.open("wb") as stderr:
        env["JOURNAL_STREAM"] = journal_stream(stderr.fileno())
        argv = in_journal_namespace(journal.root, [*EDGE_AUDIO, "run", "--env-file", str(env_file)])
        proc = await asyncio.create_subprocess_exec(*argv, env=env, stderr=stderr)
    try:
        await wait_until(lambda: "READY=1" in notes, STEP, f"READY=1 ({notes})")
        await wait_until(lambda: notes.count("WATCHDOG=1") >= 3, STEP, "fed while waiting")
        ready_status = notes[notes.index("READY=1") + 1]
        assert ready_status.startswith("STATUS=waiting for audio from 'Behringer|UMC'")
        connected = await asyncio.to_thread(journal.wait_for, "ready: room aula-magna")
        session = connected["MESSAGE"].split("session ")[1].split(",")[0]
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), STEP)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
    try:
        assert code == 0, stderr_path.read_text()
        assert "STOPPING=1" in notes
        assert not any("audio flows" in e["MESSAGE"] for e in journal.entries)
        waiting = await asyncio.to_thread(journal.wait_for, "waiting for a device")
        assert "Behringer|UMC" in waiting["MESSAGE"]
        for entry in (connected, waiting):
            assert entry["ROOM"] == "aula-magna"
            assert entry["SYSLOG_IDENTIFIER"] == "edge-audio"
        gone = await asyncio.to_thread(journal.wait_for, "disconnected from")
        assert (gone["ROOM"], gone["SESSION"]) == ("aula-magna", session)
        assert "SESSION" not in waiting, "capture's lines are not the stream's"
    finally:
        journal.close()

"""`journalctl -u edge-server ROOM=aula-magna`: what a room's log lines carry to journald.

A real ``edge-server serve`` runs as systemd runs it (stderr is journald's stream, named by
``$JOURNAL_STREAM``) in a mount namespace where libsystemd's journal socket is the test's
stand-in (tests/helpers/journal_socket.py); an audio source streams to room ``aula-magna`` and
a kiosk follows room ``main``. Each line about a room carries ``ROOM=``, the audio
connection's lines also ``SESSION=`` and ``ENGINE=``; lines about no room carry none."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from edge_server.contract.systemd_binding import systemd_python
from tests.faults.helpers import free_port
from tests.helpers.journal_socket import (
    StandInJournal,
    in_journal_namespace,
    journal_stream,
    namespace_problem,
)
from tests.helpers.paths import ROOT
from tests.helpers.wire import open_audio, recv_json

_problem = namespace_problem() or (
    "systemd-python is not installed" if systemd_python() is None else None
)
pytestmark = pytest.mark.skipif(_problem is not None, reason=_problem or "")
STEP = 30.0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, StandInJournal, Path]]:
    """``edge-server serve`` under a stand-in journal: (base WebSocket URL, journal, stderr)."""
    journal = StandInJournal(tmp_path / "run")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_SERVER_")}
    env["PYTHONPATH"] = str(ROOT)
    stderr_path = tmp_path / "stderr"
    with stderr_path.open("wb") as stderr:
        env["JOURNAL_STREAM"] = journal_stream(stderr.fileno())
        argv = [sys.executable, "-m", "edge_server.cli", "serve", "--port", str(port),
                "--state-dir", str(tmp_path / "state"), "--no-fsync"]  # fmt: skip
        proc = subprocess.Popen(in_journal_namespace(journal.root, argv), stderr=stderr, env=env)
    try:
        deadline = time.monotonic() + STEP
        while time.monotonic() < deadline and proc.poll() is None:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        assert proc.poll() is None, stderr_path.read_text()
        yield f"ws://127.0.0.1:{port}", journal, stderr_path
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STEP)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            journal.close()


async def test_a_room_s_lines_carry_room_session_and_engine(
    server: tuple[str, StandInJournal, Path],
) -> None:
    base, journal, stderr_path = server
    async with connect(f"{base}/ws/captions/main?backlog=0", open_timeout=10) as kiosk:
        assert (await recv_json(kiosk))["type"] == "status"
        ws, ready = await open_audio(base, "aula-magna")
        assert ready["type"] == "ready", ready
        session, engine = ready["session"], ready["engine"]
        for _ in range(10):  # a second of silence
            await ws.send(bytes(3200))
        await ws.send(json.dumps({"type": "end"}))
        while (await recv_json(ws))["type"] != "ended":
            pass
        await ws.close()
    started = await asyncio.to_thread(journal.wait_for, "edge-server 0.1.0 on http://")
    connected = await asyncio.to_thread(journal.wait_for, f"audio source {session} connected")
    gone = await asyncio.to_thread(journal.wait_for, f"audio source {session} gone")

    assert "ROOM" not in started, "a line about no room has no ROOM="
    assert started["SYSLOG_IDENTIFIER"] == "edge-server"
    for entry in (connected, gone):
        assert entry["ROOM"] == "aula-magna"
        assert entry["SESSION"] == session
        assert entry["ENGINE"] == engine == "pocketsphinx"
        assert entry["SYSLOG_IDENTIFIER"] == "edge-server"
        assert entry["LOGGER"] == "edge_server.web.ws_audio"
        assert entry["PRIORITY"] == "6"
        assert entry["MESSAGE"].startswith("INFO edge_server.web.ws_audio: room aula-magna:")
    created = await asyncio.to_thread(journal.wait_for, "room aula-magna ready")
    assert created["ROOM"] == "aula-magna"
    assert "SESSION" not in created, "the room was made before the source was claimed"
    kiosk_lines = await asyncio.to_thread(journal.wait_for, "of room main disconnected")
    assert kiosk_lines["ROOM"] == "main"
    assert "SESSION" not in kiosk_lines
    messages = [e["MESSAGE"] for e in journal.matching(ROOM="aula-magna")]
    assert messages == [e["MESSAGE"] for e in journal.entries if "aula-magna" in e["MESSAGE"]]
    assert all("main" not in m for m in messages), "ROOM=aula-magna is that room's log only"
    assert "audio source" not in stderr_path.read_text(), "lines go to the journal, once"

"""``edge-server follow``: captions in a terminal."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from pathlib import Path

import pytest

from edge_server.contract.urls import captions_url
from edge_server.follow import CaptionPrinter
from tests.helpers.live_server import LiveServer
from tests.helpers.processes import EDGE_AUDIO


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ("http://127.0.0.1:8080", "ws://127.0.0.1:8080/ws/captions/main?backlog=5&partials=0"),
        ("https://pi.local/", "wss://pi.local/ws/captions/main?backlog=5&partials=0"),
        ("127.0.0.1:9", "ws://127.0.0.1:9/ws/captions/main?backlog=5&partials=0"),
    ],
)
def test_captions_url(server: str, expected: str) -> None:
    assert captions_url(server, "main", 5, False) == expected


def test_printer_shows_finals_status_and_partials_only_on_request() -> None:
    out = io.StringIO()
    printer = CaptionPrinter(out, show_partials=False)
    printer.handle({"type": "status", "room": "main", "engine": "e", "audio": "flowing"})
    printer.handle({"type": "partial", "segment": 1, "text": "hel"})
    printer.handle(
        {"type": "final", "text": "hello", "start": 1.0, "end": 2.0, "translations": {"it": "ciao"}}
    )
    printer.handle({"type": "mystery"})
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("# room main: engine e, audio flowing")
    assert lines[1] == "[00:01.0\u201300:02.0] hello"
    assert lines[2].strip() == "it: ciao"
    assert len(lines) == 3
    assert printer.finals == 1

    tty = io.StringIO()
    live = CaptionPrinter(tty, show_partials=True)
    live.handle({"type": "partial", "segment": 1, "text": "hel"})
    live.handle({"type": "final", "text": "hello", "start": 0, "end": 1})
    assert "hel" in tty.getvalue()
    assert "\r\x1b[2K" in tty.getvalue()  # the partial line is cleared before the final


@pytest.mark.speech
async def test_follow_prints_backlog_and_live_finals(
    server: LiveServer, librivox_files: list[tuple[Path, str]]
) -> None:
    async def stream(wav: Path) -> None:
        proc = await asyncio.create_subprocess_exec(
            *EDGE_AUDIO, "stream-file", str(wav), "--server", server.http, "--room", "main",
            "--lang", "en-US", "--speed", "0", "--quiet",
        )  # fmt: skip
        assert await asyncio.wait_for(proc.wait(), 60) == 0

    await stream(librivox_files[1][0])
    follower = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "edge_server.cli", "follow", "main", "--server", server.http,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert follower.stdout is not None
    try:
        lines: list[str] = []

        async def read_until(text: str) -> None:
            while not any(text in line for line in lines):
                lines.append((await follower.stdout.readline()).decode())  # type: ignore[union-attr]

        await asyncio.wait_for(read_until("young man"), 30)  # the backlog
        await stream(librivox_files[4][0])
        try:
            await asyncio.wait_for(read_until("himself"), 30)  # live
        except TimeoutError:
            raise AssertionError(lines) from None
    finally:
        follower.terminate()
        await follower.wait()


def test_follow_refuses_bad_arguments() -> None:
    for args in (["follow", "Bad Room"], ["follow", "main", "--server", "ftp://x"]):
        result = subprocess.run(
            [sys.executable, "-m", "edge_server.cli", *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 2, args
        assert "room name" in result.stderr or "must start with" in result.stderr

"""Shared fixtures: a real edge-server on 127.0.0.1, the LibriVox recordings, helpers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, async_playwright
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from edge_server.core.settings import ServerSettings
from edge_server.rooms.registry import RecognizerFactory, SynthesizerFactory, TranslatorFactory
from edge_server.web.app import create_app

if TYPE_CHECKING:  # tests.pipewire_session imports this module
    from tests.pipewire_session import Layout, PipeWireSession

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    # As root in a container, and on a machine whose network is closed.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
EDGE_AUDIO = [sys.executable, "-m", "edge_audio.cli"]


@pytest.fixture(scope="session")
def librivox_dir() -> Path:
    """The LibriVox recordings and transcripts from pocketsphinx's source distribution."""
    folder = Path(os.environ.get("LIBRIVOX_DIR", ROOT / ".cache" / "speech" / "librivox"))
    if not (folder / "fileids").exists():
        out = subprocess.run(
            [str(ROOT / "scripts" / "fetch-speech.sh")],
            check=True,
            capture_output=True,
            text=True,
        )
        folder = Path(out.stdout.strip())
    return folder


@pytest.fixture(scope="session")
def librivox_files(librivox_dir: Path) -> list[tuple[Path, str]]:
    """``(wav, reference transcript)`` pairs in the corpus order."""
    ids = (librivox_dir / "fileids").read_text().split()
    return [
        (librivox_dir / f"{i}.wav", (librivox_dir / f"{i}.txt").read_text().strip()) for i in ids
    ]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium through Playwright (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run the README's test command (it installs it)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=15000
        )
        yield launched
        await launched.close()


class LiveServer:
    """An edge-server application served on 127.0.0.1 by this test's event loop."""

    def __init__(
        self,
        settings: ServerSettings,
        recognizer_factory: RecognizerFactory | None = None,
        synthesizer_factory: SynthesizerFactory | None = None,
        translator_factory: TranslatorFactory | None = None,
    ) -> None:
        self.settings = settings
        self.app = create_app(settings, recognizer_factory, synthesizer_factory, translator_factory)
        self.server = TestServer(self.app, host="127.0.0.1", port=0)

    async def start(self) -> LiveServer:
        await self.server.start_server()
        return self

    async def stop(self) -> None:
        await self.server.close()

    @property
    def http(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    @property
    def ws(self) -> str:
        return self.http.replace("http://", "ws://", 1)


def make_settings(state_dir: Path, **kwargs: Any) -> ServerSettings:
    """Test settings: state in tmp, no fsync (tmpfs-speed), short idle."""
    kwargs.setdefault("fsync", False)
    return ServerSettings(state_dir=state_dir, **kwargs)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    """A running server with its state in ``tmp_path / "state"``."""
    live = await LiveServer(make_settings(tmp_path / "state")).start()
    try:
        yield live
    finally:
        await live.stop()


HELLO = {
    "type": "hello",
    "format": "s16le",
    "sample_rate": 16000,
    "channels": 1,
    "language": "en-US",
    "client": {"name": "pytest", "version": "0"},
}


async def recv_json(ws: ClientConnection, timeout: float = 20.0) -> dict[str, Any]:
    """The next JSON message (fails the test after ``timeout``)."""
    raw = await asyncio.wait_for(ws.recv(), timeout)
    message = json.loads(raw)
    assert isinstance(message, dict)
    return message


async def open_audio(
    base_ws: str, room: str, hello: dict[str, Any] | None = None
) -> tuple[ClientConnection, dict[str, Any]]:
    """Connect an audio source, send hello, return the socket and the server's answer."""
    ws = await connect(f"{base_ws}/ws/audio/{room}", open_timeout=10)
    await ws.send(json.dumps(HELLO if hello is None else hello))
    return ws, await recv_json(ws)


async def wait_closed(ws: ClientConnection, timeout: float = 10.0) -> tuple[int | None, str]:
    """Read until the server closes; return its close code and reason."""

    async def drain() -> None:
        with contextlib.suppress(ConnectionClosed):
            async for _ in ws:
                pass

    await asyncio.wait_for(drain(), timeout)
    return ws.close_code, ws.close_reason or ""


@pytest.fixture(scope="module")
def pw() -> Iterator[PipeWireSession]:
    """A real PipeWire daemon (with WirePlumber and pipewire-pulse) for one test module."""
    from tests.pipewire_session import PipeWireSession, missing_binaries

    missing = missing_binaries()
    if missing:
        pytest.fail(
            f"missing {', '.join(missing)}: run the README's test command (it installs them)"
        )
    session = PipeWireSession().start()
    try:
        yield session
    finally:
        session.stop()


@pytest.fixture
def layout(pw: PipeWireSession) -> Iterator[Layout]:
    """The virtual mixer and devices of one test, unloaded after it."""
    from tests.pipewire_session import Layout

    devices = Layout().load(pw)
    try:
        yield devices
    finally:
        pw.stop_players()
        devices.unload(pw)

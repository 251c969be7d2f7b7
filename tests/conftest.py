"""Shared fixtures: real edge-servers on 127.0.0.1, the LibriVox recordings, Chromium, PipeWire.

Only fixtures live here; what tests import is in :mod:`tests.helpers`.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.async_api import Browser, async_playwright

from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS
from tests.helpers.live_server import LiveServer, LiveServers
from tests.helpers.paths import ROOT
from tests.helpers.redis_server import RedisServer
from tests.helpers.tiny_disk import TinyDisk

if TYPE_CHECKING:  # imported by the PipeWire fixtures when a test asks for them
    from tests.helpers.pipewire_session import Layout, PipeWireSession


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


@pytest.fixture
async def live_server(tmp_path: Path) -> AsyncIterator[LiveServers]:
    """Starts servers on 127.0.0.1: ``await live_server(settings=None, recognizer_factory=None,
    synthesizer_factory=None, translator_factory=None, port=0)``; without settings, the state is
    in ``tmp_path / "state"``. Every server started is stopped after the test."""
    servers = LiveServers(tmp_path / "state")
    try:
        yield servers
    finally:
        await servers.stop_all()


@pytest.fixture
async def server(live_server: LiveServers) -> LiveServer:
    """A running server with its state in ``tmp_path / "state"``."""
    return await live_server()


@pytest.fixture(scope="module")
def pw() -> Iterator[PipeWireSession]:
    """A real PipeWire daemon (with WirePlumber and pipewire-pulse) for one test module."""
    from tests.helpers.pipewire_session import PipeWireSession, missing_binaries

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
    from tests.helpers.pipewire_session import Layout

    devices = Layout().load(pw)
    try:
        yield devices
    finally:
        pw.stop_players()
        devices.unload(pw)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[TinyDisk]:
    """A 512 KiB tmpfs at ``tmp_path / "disk"`` (root only), unmounted after the test."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    disk = TinyDisk(tmp_path / "disk")
    disk.mount()
    try:
        yield disk
    finally:
        disk.unmount()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A real redis-server on 127.0.0.1 (free port, password), stopped by PID after the test."""
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()

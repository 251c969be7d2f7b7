"""A real edge-server application on 127.0.0.1, served by the test's own event loop.

Tests get servers from the ``live_server`` fixture (conftest.py), which stops every server it
started; :class:`LiveServer` itself is for helpers that need a server outside a test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from edge_server.core.settings import ServerSettings
from edge_server.rooms.registry import RecognizerFactory, SynthesizerFactory, TranslatorFactory
from edge_server.web.app import create_app


class LiveServer:
    """An edge-server application served on 127.0.0.1 by this test's event loop."""

    def __init__(
        self,
        settings: ServerSettings,
        recognizer_factory: RecognizerFactory | None = None,
        synthesizer_factory: SynthesizerFactory | None = None,
        translator_factory: TranslatorFactory | None = None,
        port: int = 0,
    ) -> None:
        """``port`` 0 is any free port; a chosen one lets a test restart at the same address."""
        self.settings = settings
        self.app = create_app(settings, recognizer_factory, synthesizer_factory, translator_factory)
        self.server = TestServer(self.app, host="127.0.0.1", port=port)

    async def start(self) -> LiveServer:
        await self.server.start_server()
        return self

    async def stop(self) -> None:
        """Stop serving (again is harmless)."""
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


class LiveServers:
    """Starts servers on 127.0.0.1 and remembers them, to stop them all at the end of a test
    (what the ``live_server`` fixture yields: ``await live_server(settings, ...)``)."""

    def __init__(self, state_dir: Path) -> None:
        """``state_dir``: the state of a server started without settings."""
        self.state_dir = state_dir
        self.started: list[LiveServer] = []

    async def __call__(
        self,
        settings: ServerSettings | None = None,
        recognizer_factory: RecognizerFactory | None = None,
        synthesizer_factory: SynthesizerFactory | None = None,
        translator_factory: TranslatorFactory | None = None,
        *,
        port: int = 0,
    ) -> LiveServer:
        """A started server (default settings: :func:`make_settings` of ``state_dir``)."""
        live = LiveServer(
            settings if settings is not None else make_settings(self.state_dir),
            recognizer_factory,
            synthesizer_factory,
            translator_factory,
            port=port,
        )
        self.started.append(live)
        return await live.start()

    async def stop_all(self) -> None:
        """Stop every server started here, the last first (one stopped already is skipped)."""
        while self.started:
            await self.started.pop().stop()


async def room_health(server: LiveServer, room: str = "main") -> dict[str, Any]:
    """``room``'s part of the server's ``/healthz``."""
    async with aiohttp.ClientSession() as http, http.get(f"{server.http}/healthz") as r:
        health: dict[str, Any] = (await r.json())["rooms"][room]
        return health

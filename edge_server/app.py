"""The aiohttp application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web

import kiosk
from edge_server import admin_api, pages, ws_audio, ws_captions
from edge_server.keys import ROOMS, SETTINGS, SOCKETS, OpenSockets
from edge_server.metrics import setup_metrics
from edge_server.rooms import (
    RecognizerFactory,
    RoomRegistry,
    SynthesizerFactory,
    TranslatorFactory,
)
from edge_server.settings import ServerSettings
from edge_server.web_auth import install_limiter

log = logging.getLogger(__name__)
SHUTDOWN_REASON = b"shutting_down: the server is stopping or restarting"


async def _rooms_lifecycle(app: web.Application) -> AsyncIterator[None]:
    registry = app[ROOMS]
    registry.load_existing()
    ticker = asyncio.create_task(registry.tick_status(), name="status-ticker")
    yield
    ticker.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await ticker
    await registry.close()


async def _close_sockets(app: web.Application) -> None:
    for ws in app[SOCKETS].snapshot():
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.close(code=1001, message=SHUTDOWN_REASON)


async def _no_cache_for_pages(request: web.Request, response: web.StreamResponse) -> None:
    # A kiosk left running for days must pick up new page files after an upgrade.
    if request.path.startswith(("/static/", "/kiosk/", "/listen/", "/status")):
        response.headers["Cache-Control"] = "no-cache"


def create_app(
    settings: ServerSettings,
    recognizer_factory: RecognizerFactory | None = None,
    synthesizer_factory: SynthesizerFactory | None = None,
    translator_factory: TranslatorFactory | None = None,
) -> web.Application:
    """Build the application: routes, rooms, background tasks and shutdown behaviour.

    The factories replace the engines the settings name (tests, benchmarks).
    """
    app = web.Application()
    app[SETTINGS] = settings
    app[ROOMS] = RoomRegistry(settings, recognizer_factory, synthesizer_factory, translator_factory)
    app[SOCKETS] = OpenSockets()
    app[admin_api.STARTED] = time.monotonic()
    install_limiter(app)
    app.cleanup_ctx.append(_rooms_lifecycle)
    app.on_shutdown.append(_close_sockets)
    app.on_response_prepare.append(_no_cache_for_pages)
    app.add_routes(
        [
            web.get("/", pages.index),
            web.get("/healthz", pages.healthz),
            web.get("/kiosk/{room}", pages.kiosk_page),
            web.get("/listen/{room}", admin_api.listen_page),
            web.get("/status", admin_api.status_page),
            web.get("/api/status", admin_api.api_status),
            web.post("/api/rooms/{room}/settings", admin_api.change_room_settings),
            web.get("/rooms/{room}/qr.svg", admin_api.qr_code),
            web.get(r"/rooms/{room}/transcript.{fmt:txt|srt|vtt|jsonl}", pages.transcript_export),
            web.get("/ws/audio/{room}", ws_audio.audio_uplink),
            web.get("/ws/captions/{room}", ws_captions.captions),
            web.static("/static", kiosk.WEB_ROOT),
        ]
    )
    setup_metrics(app)
    return app

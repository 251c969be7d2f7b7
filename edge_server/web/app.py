"""The aiohttp application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web

import kiosk
from edge_server.core.refusals import RecentRefusals
from edge_server.core.settings import ServerSettings
from edge_server.core.trace import PipelineTrace
from edge_server.rooms.registry import (
    RecognizerFactory,
    RoomRegistry,
    SynthesizerFactory,
    TranslatorFactory,
)
from edge_server.web import (
    health,
    pages,
    qr,
    status_api,
    talks,
    transcripts,
    ws_audio,
    ws_captions,
)
from edge_server.web.access import install_limiter
from edge_server.web.app_keys import REFUSED, ROOMS, SETTINGS, SOCKETS, STARTED
from edge_server.web.log_context import room_log_fields
from edge_server.web.metrics import setup_metrics
from edge_server.web.open_sockets import OpenSockets
from edge_server.web.proxies import install_proxies
from edge_server.web.schedule_feed import schedule_lifecycle

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


async def close_sockets(app: web.Application) -> None:
    """On shutdown: close every open WebSocket with a reason (room servers and hubs)."""
    for ws in app[SOCKETS].snapshot():
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.close(code=1001, message=SHUTDOWN_REASON)


async def no_cache_for_pages(request: web.Request, response: web.StreamResponse) -> None:
    """``Cache-Control: no-cache`` on the pages and their files (room servers and hubs): a
    kiosk left running for days must pick up new page files after an upgrade."""
    if request.path.startswith(("/static/", "/kiosk/", "/listen/", "/overlay/", "/status")):
        response.headers["Cache-Control"] = "no-cache"


def create_app(
    settings: ServerSettings,
    recognizer_factory: RecognizerFactory | None = None,
    synthesizer_factory: SynthesizerFactory | None = None,
    translator_factory: TranslatorFactory | None = None,
    *,
    trace: PipelineTrace | None = None,
) -> web.Application:
    """Build the application: routes, rooms, background tasks and shutdown behaviour.

    The factories replace the engines the settings name (tests, benchmarks); ``trace`` sees
    each step of every room's pipeline (:mod:`edge_server.core.trace`, for the benchmark).
    """
    app = web.Application(middlewares=[room_log_fields])
    app[SETTINGS] = settings
    app[ROOMS] = RoomRegistry(
        settings, recognizer_factory, synthesizer_factory, translator_factory, trace
    )
    app[SOCKETS] = OpenSockets()
    app[STARTED] = time.monotonic()
    app[REFUSED] = RecentRefusals()
    install_proxies(app)
    install_limiter(app)
    app.cleanup_ctx.append(_rooms_lifecycle)
    app.cleanup_ctx.append(schedule_lifecycle)
    app.on_shutdown.append(close_sockets)
    app.on_response_prepare.append(no_cache_for_pages)
    app.add_routes(
        [
            web.get("/", pages.index),
            web.get("/healthz", health.healthz),
            web.get("/kiosk/{room}", pages.kiosk_page),
            web.get("/listen/{room}", pages.listen_page),
            web.get("/overlay/{room}", pages.overlay_page),
            web.get("/status", pages.status_page),
            web.get("/api/status", status_api.api_status),
            web.post("/api/rooms/{room}/settings", status_api.change_room_settings),
            web.get("/rooms/{room}/qr.svg", qr.qr_code),
            web.get(
                r"/rooms/{room}/transcript.{fmt:txt|srt|vtt|jsonl}", transcripts.transcript_export
            ),
            web.get("/rooms/{room}/talks", talks.list_talks),
            web.get(
                r"/rooms/{room}/talks/{talk_id}/transcript.{fmt:txt|srt|vtt|jsonl}",
                talks.talk_transcript,
            ),
            web.get("/ws/audio/{room}", ws_audio.audio_uplink),
            web.get("/ws/captions/{room}", ws_captions.captions),
            web.static("/static", kiosk.WEB_ROOT),
        ]
    )
    setup_metrics(app)
    return app

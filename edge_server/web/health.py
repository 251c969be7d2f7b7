"""``GET /healthz``: every room's health as JSON (open to all: it carries no captions)."""

from __future__ import annotations

from aiohttp import web

from edge_server import __version__
from edge_server.rooms.status_views import health
from edge_server.web.app_keys import ROOMS


async def healthz(request: web.Request) -> web.Response:
    """JSON health: every room with its engine and whether audio flows."""
    rooms = {name: health(room) for name, room in sorted(request.app[ROOMS].rooms.items())}
    return web.json_response({"status": "ok", "version": __version__, "rooms": rooms})

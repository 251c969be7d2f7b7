"""The tech lead's API: ``GET /api/status`` (every room) and ``POST /api/rooms/{room}/settings``
(live language changes). The page that reads it is served by :mod:`.pages`."""

from __future__ import annotations

import json
import time

from aiohttp import web

from edge_server import __version__
from edge_server.contract.uplink import ProtocolError
from edge_server.core.auth import Role
from edge_server.core.engine_api import EngineError
from edge_server.core.live_settings import SettingsConflict, parse_live_change
from edge_server.core.settings import SettingsError
from edge_server.rooms.room import Room
from edge_server.rooms.status_views import admin_status
from edge_server.web.access import require_http
from edge_server.web.app_keys import REFUSED, ROOMS, SETTINGS, STARTED
from edge_server.web.errors import json_error, room_or_400
from edge_server.web.qr import listen_url

MAX_BODY = 16 * 1024


async def api_status(request: web.Request) -> web.Response:
    """Every room with its source, signal, engine, latency, listeners, errors and cost."""
    require_http(request, (Role.ADMIN,))
    settings = request.app[SETTINGS]
    rooms = {}
    for name, room in sorted(request.app[ROOMS].rooms.items()):
        rooms[name] = admin_status(room) | {"listen_url": listen_url(request, name)}
    tokens = settings.tokens
    return web.json_response(
        {
            "server": {
                "version": __version__,
                "uptime_s": round(time.monotonic() - request.app[STARTED], 1),
                "auth": {role.value: bool(tokens.of(role)) for role in Role},
            },
            "rooms": rooms,
            # Caption subscribers refused lately (a kiosk with an old token), newest first.
            "refused": [e.as_json() for e in request.app[REFUSED].recent(time.time())],
        },
        headers={"Cache-Control": "no-store"},
    )


async def change_room_settings(request: web.Request) -> web.Response:
    """``POST /api/rooms/{room}/settings``: change languages live (see docs/protocol.md)."""
    require_http(request, (Role.ADMIN,))
    room: Room = room_or_400(request)
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise json_error(web.HTTPRequestEntityTooLarge, "invalid_setting", "body too large")
    try:
        body = json.loads(await request.content.read(MAX_BODY + 1) or b"null")
    except (ValueError, RecursionError):
        raise json_error(web.HTTPBadRequest, "invalid_setting", "expected a JSON object") from None
    try:
        change = parse_live_change(body)
        settings = await room.change_settings(change)
    except SettingsConflict as exc:
        raise json_error(web.HTTPConflict, "unsupported", str(exc)) from None
    except ProtocolError as exc:  # the engine refused the language when the stream reopened
        raise json_error(web.HTTPConflict, "unsupported", exc.message) from None
    except EngineError as exc:
        raise json_error(
            web.HTTPBadGateway, "engine_failed", f"the recognizer failed to switch: {exc}"
        ) from None
    except SettingsError as exc:
        raise json_error(web.HTTPBadRequest, "invalid_setting", str(exc)) from None
    return web.json_response(
        {
            "room": room.name,
            "source_lang": settings.source_lang,
            "languages": list(settings.languages),
            "targets": list(settings.targets),
        }
    )

"""The tech lead's side: ``/status`` page, ``GET /api/status``, live settings, the QR code."""

from __future__ import annotations

import io
import json
import time
from urllib.parse import quote

import segno
from aiohttp import web

import kiosk
from edge_server import __version__
from edge_server.audio_protocol import ProtocolError
from edge_server.auth import Role
from edge_server.engines.base import EngineError
from edge_server.keys import ROOMS, SETTINGS
from edge_server.live_settings import SettingsConflict, parse_live_change
from edge_server.room import Room
from edge_server.settings import SettingsError
from edge_server.web_auth import READ_ROLES, require_http
from edge_server.web_errors import json_error, room_or_400

STARTED = web.AppKey("started_monotonic", float)
MAX_BODY = 16 * 1024


def listen_url(request: web.Request, room: str) -> str:
    """The listener page of ``room`` as phones reach it, with the listener token if set."""
    settings = request.app[SETTINGS]
    base = settings.public_url.rstrip("/") or f"{request.scheme}://{request.host}"
    url = f"{base}/listen/{quote(room)}"
    if settings.listener_token:
        url += f"?token={quote(settings.listener_token, safe='')}"
    return url


async def status_page(request: web.Request) -> web.FileResponse:
    """The status page (its data comes from ``/api/status`` with the admin token)."""
    return web.FileResponse(kiosk.STATUS_PAGE, headers={"Cache-Control": "no-cache"})


async def listen_page(request: web.Request) -> web.FileResponse:
    """The phone page; the room comes from the URL, read by the page's script."""
    room_or_400(request)
    return web.FileResponse(kiosk.LISTEN_PAGE, headers={"Cache-Control": "no-cache"})


async def api_status(request: web.Request) -> web.Response:
    """Every room with its source, signal, engine, latency, listeners, errors and cost."""
    require_http(request, (Role.ADMIN,))
    settings = request.app[SETTINGS]
    rooms = {}
    for name, room in sorted(request.app[ROOMS].rooms.items()):
        rooms[name] = room.admin_status() | {"listen_url": listen_url(request, name)}
    tokens = settings.tokens
    return web.json_response(
        {
            "server": {
                "version": __version__,
                "uptime_s": round(time.monotonic() - request.app[STARTED], 1),
                "auth": {role.value: bool(tokens.of(role)) for role in Role},
            },
            "rooms": rooms,
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


async def qr_code(request: web.Request) -> web.Response:
    """``/rooms/{room}/qr.svg``: a QR code of the room's listener page (with its token)."""
    require_http(request, READ_ROLES)
    room = room_or_400(request)
    code = segno.make(listen_url(request, room.name), error="m")
    out = io.BytesIO()
    code.save(out, kind="svg", scale=1, border=4, omitsize=True, xmldecl=False, light="#fff")
    return web.Response(
        body=out.getvalue(),
        content_type="image/svg+xml",
        headers={"Cache-Control": "no-store"},
    )

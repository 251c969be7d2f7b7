"""The listener page's address as phones reach it, and ``/rooms/{room}/qr.svg``, its QR code."""

from __future__ import annotations

import io
from urllib.parse import quote

import segno
from aiohttp import web

from edge_server.web.access import READ_ROLES, require_http
from edge_server.web.app_keys import SETTINGS
from edge_server.web.errors import room_or_400


def listen_url(request: web.Request, room: str) -> str:
    """The listener page of ``room`` as phones reach it, with the listener token if set."""
    settings = request.app[SETTINGS]
    base = settings.public_url.rstrip("/") or f"{request.scheme}://{request.host}"
    url = f"{base}/listen/{quote(room)}"
    if settings.listener_token:
        url += f"?token={quote(settings.listener_token, safe='')}"
    return url


async def qr_code(request: web.Request) -> web.Response:
    """``/rooms/{room}/qr.svg``: a QR code of the room's listener page (with its token)."""
    require_http(request, READ_ROLES)
    return qr_response(request, room_or_400(request).name)


def qr_response(request: web.Request, room: str) -> web.Response:
    """The QR code of ``room``'s listener page as an SVG response (room servers and hubs)."""
    code = segno.make(listen_url(request, room), error="m")
    out = io.BytesIO()
    code.save(out, kind="svg", scale=1, border=4, omitsize=True, xmldecl=False, light="#fff")
    return web.Response(
        body=out.getvalue(),
        content_type="image/svg+xml",
        headers={"Cache-Control": "no-store"},
    )

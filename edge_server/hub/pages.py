"""The hub's pages: the listener, kiosk and overlay pages (the room server's files), the QR
code, and the transcript exports from the rooms' streams. The overview is in
:mod:`.overview`, the talks in :mod:`.talks`."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

import kiosk
from edge_server.core.replication import record_of, stream_key
from edge_server.hub.keys import CONFERENCE, room_name_or_400
from edge_server.replication.connection import REDIS_FAILURES
from edge_server.web.access import READ_ROLES, require_http
from edge_server.web.errors import json_error
from edge_server.web.qr import qr_response
from edge_server.web.transcripts import EXPORTERS, lang_or_400


async def listen_page(request: web.Request) -> web.FileResponse:
    """The phone page (the same file as on a room server)."""
    room_name_or_400(request)
    return web.FileResponse(kiosk.LISTEN_PAGE, headers={"Cache-Control": "no-cache"})


async def kiosk_page(request: web.Request) -> web.FileResponse:
    """The monitor page (the same file as on a room server)."""
    room_name_or_400(request)
    return web.FileResponse(kiosk.KIOSK_PAGE, headers={"Cache-Control": "no-cache"})


async def overlay_page(request: web.Request) -> web.FileResponse:
    """The livestream overlay (the same file as on a room server: its query parameters, the
    listener token on its captions socket, a transparent background; docs/overlay.md)."""
    room_name_or_400(request)
    return web.FileResponse(kiosk.OVERLAY_PAGE, headers={"Cache-Control": "no-cache"})


async def qr_code(request: web.Request) -> web.Response:
    """``/rooms/{room}/qr.svg``: the room's listener page on this hub (``public_url``: the
    hub's public address), for the kiosk page served by a hub."""
    require_http(request, READ_ROLES)
    return qr_response(request, room_name_or_400(request))


async def transcript_export(request: web.Request) -> web.Response:
    """``/rooms/{room}/transcript.{txt,srt,vtt,jsonl}`` from the room's stream (what Redis
    keeps: the last ``replicate_maxlen`` finals); ``?lang=`` a translation."""
    require_http(request, READ_ROLES)
    name = room_name_or_400(request)
    fmt = request.match_info["fmt"]
    lang = lang_or_400(request)
    try:
        entries: Any = await request.app[CONFERENCE].client.xrange(stream_key(name))
    except REDIS_FAILURES:
        raise json_error(
            web.HTTPServiceUnavailable, "unavailable", "the hub cannot read Redis"
        ) from None
    records = [r for _, fields in entries if (r := record_of(fields)) is not None]
    if fmt == "jsonl":
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        return web.Response(text=body, content_type="application/x-ndjson")
    render, content_type = EXPORTERS[fmt]
    filename = f"{name}{'-' + lang if lang else ''}.{fmt}"
    return web.Response(
        text=render(records, lang),
        content_type=content_type,
        charset="utf-8",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )

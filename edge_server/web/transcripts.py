"""``GET /rooms/{room}/transcript.{txt,srt,vtt,jsonl}``: a room's transcript, or a translation
of it with ``?lang=``."""

from __future__ import annotations

import asyncio

from aiohttp import web

from edge_server.contract.names import InvalidName, validate_language
from edge_server.core.exports import to_srt, to_txt, to_vtt
from edge_server.web.access import READ_ROLES, require_http
from edge_server.web.errors import json_error, room_or_400

EXPORTERS = {
    "txt": (to_txt, "text/plain"),
    "srt": (to_srt, "application/x-subrip"),
    "vtt": (to_vtt, "text/vtt"),
}


async def transcript_export(request: web.Request) -> web.StreamResponse:
    """``/rooms/{room}/transcript.{txt,srt,vtt,jsonl}``; ``?lang=xx`` exports a translation."""
    require_http(request, READ_ROLES)
    room = room_or_400(request)
    fmt = request.match_info["fmt"]
    if fmt == "jsonl":
        if not room.store.path.exists():
            return web.Response(text="", content_type="application/x-ndjson")
        return web.FileResponse(room.store.path, headers={"Content-Type": "application/x-ndjson"})
    lang = request.query.get("lang")
    if lang is not None:
        try:
            validate_language(lang)
        except InvalidName as exc:
            raise json_error(web.HTTPBadRequest, "invalid_parameter", str(exc)) from None
    render, content_type = EXPORTERS[fmt]
    records = await asyncio.to_thread(room.store.read_all)
    filename = f"{room.name}{'-' + lang if lang else ''}.{fmt}"
    return web.Response(
        text=render(records, lang),
        content_type=content_type,
        charset="utf-8",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )

"""HTTP pages: the room list, health, the kiosk page and transcript exports."""

from __future__ import annotations

import asyncio
import html

from aiohttp import web

import kiosk
from edge_server import __version__
from edge_server.exports import to_srt, to_txt, to_vtt
from edge_server.keys import ROOMS
from edge_server.names import InvalidName, validate_language
from edge_server.web_auth import READ_ROLES, require_http
from edge_server.web_errors import json_error, room_or_400

EXPORTERS = {
    "txt": (to_txt, "text/plain"),
    "srt": (to_srt, "application/x-subrip"),
    "vtt": (to_vtt, "text/vtt"),
}


async def index(request: web.Request) -> web.Response:
    """An HTML list of rooms with links to their kiosk page and exports."""
    rows = []
    for name, room in sorted(request.app[ROOMS].rooms.items()):
        n = html.escape(name)
        rows.append(
            f"<tr><td>{n}</td><td>{html.escape(room.audio_state())}</td>"
            f"<td>{room.store.count}</td><td><a href='/kiosk/{n}'>kiosk</a></td>"
            f"<td><a href='/rooms/{n}/transcript.txt'>txt</a> "
            f"<a href='/rooms/{n}/transcript.srt'>srt</a> "
            f"<a href='/rooms/{n}/transcript.vtt'>vtt</a></td></tr>"
        )
    body = "\n".join(rows) or "<tr><td colspan=5>No rooms yet: stream audio to one.</td></tr>"
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Room captions</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;margin:2rem;}}td,th{{padding:.3rem 1rem;
text-align:left}}</style></head><body>
<h1>Room captions</h1>
<table><thead><tr><th>Room</th><th>Audio</th><th>Finals</th><th>Screen</th><th>Transcript</th>
</tr></thead><tbody>
{body}
</tbody></table>
<p><a href="/healthz">/healthz</a> &middot; edge-server {__version__}</p>
</body></html>"""
    return web.Response(text=page, content_type="text/html")


async def healthz(request: web.Request) -> web.Response:
    """JSON health: every room with its engine and whether audio flows."""
    rooms = {name: room.health() for name, room in sorted(request.app[ROOMS].rooms.items())}
    return web.json_response({"status": "ok", "version": __version__, "rooms": rooms})


async def kiosk_page(request: web.Request) -> web.FileResponse:
    """The monitor page; the room comes from the URL, read by the page's script."""
    room_or_400(request)
    return web.FileResponse(kiosk.KIOSK_PAGE, headers={"Cache-Control": "no-cache"})


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

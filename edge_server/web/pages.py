"""The HTML pages: the room list, the kiosk (monitor), the listener (phone) and the status page.

The pages are static files of :mod:`kiosk`; each reads its room from the URL and its data from
the sockets and APIs.
"""

from __future__ import annotations

import html

from aiohttp import web

import kiosk
from edge_server import __version__
from edge_server.rooms.status_views import audio_state
from edge_server.web.app_keys import ROOMS
from edge_server.web.errors import room_or_400


async def index(request: web.Request) -> web.Response:
    """An HTML list of rooms with links to their kiosk page and exports."""
    rows = []
    for name, room in sorted(request.app[ROOMS].rooms.items()):
        n = html.escape(name)
        rows.append(
            f"<tr><td>{n}</td><td>{html.escape(audio_state(room))}</td>"
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


async def kiosk_page(request: web.Request) -> web.FileResponse:
    """The monitor page; the room comes from the URL, read by the page's script."""
    room_or_400(request)
    return web.FileResponse(kiosk.KIOSK_PAGE, headers={"Cache-Control": "no-cache"})


async def listen_page(request: web.Request) -> web.FileResponse:
    """The phone page; the room comes from the URL, read by the page's script."""
    room_or_400(request)
    return web.FileResponse(kiosk.LISTEN_PAGE, headers={"Cache-Control": "no-cache"})


async def overlay_page(request: web.Request) -> web.FileResponse:
    """The livestream overlay (transparent; docs/overlay.md); the room comes from the URL."""
    room_or_400(request)
    return web.FileResponse(kiosk.OVERLAY_PAGE, headers={"Cache-Control": "no-cache"})


async def status_page(request: web.Request) -> web.FileResponse:
    """The status page (its data comes from ``/api/status`` with the admin token)."""
    return web.FileResponse(kiosk.STATUS_PAGE, headers={"Cache-Control": "no-cache"})

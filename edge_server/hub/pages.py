"""The hub's pages: ``/`` the conference overview (admin token, as the Pi's status page),
``/api/overview`` as JSON, the listener and kiosk pages, and the transcript exports from the
rooms' streams."""

from __future__ import annotations

import html
import json
import time
from typing import Any

from aiohttp import web

import kiosk
from edge_server import __version__
from edge_server.core.auth import Role
from edge_server.core.replication import RoomOverview, record_of, stream_key
from edge_server.hub.keys import CONFERENCE, room_name_or_400
from edge_server.replication.connection import REDIS_FAILURES
from edge_server.web.access import READ_ROLES, require_http
from edge_server.web.app_keys import REFUSED
from edge_server.web.errors import json_error
from edge_server.web.qr import qr_response
from edge_server.web.transcripts import EXPORTERS, lang_or_400


def _room_json(room: RoomOverview, relayed: dict[str, int]) -> dict[str, Any]:
    status = room.status
    return {
        "room": room.room,
        "stale": room.stale,
        "status_age_s": None if room.age_s is None else round(room.age_s, 1),
        "alarms": list(room.alarms),
        "engine": status.get("engine"),
        "offline": status.get("offline"),
        "audio": status.get("audio"),
        "listeners_at_room": status.get("listeners"),
        "listeners_here": relayed.get(room.room, 0),
        "finals": status.get("finals"),
        "last_final_at": status.get("last_final_at"),
        "cost": status.get("cost"),
        "replication": status.get("replication"),
    }


def _listeners_here(request: web.Request) -> dict[str, int]:
    relays = request.app[CONFERENCE].relays
    return {name: len(relay.broadcaster.subscribers) for name, relay in relays.items()}


async def api_overview(request: web.Request) -> web.Response:
    """Every room that replicates, with alarms, engine, listeners, last final, stale marks."""
    require_http(request, (Role.ADMIN,))
    conference = request.app[CONFERENCE]
    here = _listeners_here(request)
    return web.json_response(
        {
            "hub": {
                "version": __version__,
                "redis_error": conference.error,
                "refused": [e.as_json() for e in request.app[REFUSED].recent(time.time())],
            },
            "rooms": [_room_json(r, here) for r in conference.rooms],
        },
        headers={"Cache-Control": "no-store"},
    )


def _last_final_age(value: object) -> str:
    if not isinstance(value, str):
        return "none yet"
    from datetime import datetime

    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return "?"
    return f"{max(0.0, time.time() - when):.0f} s ago"


async def overview_page(request: web.Request) -> web.Response:
    """The conference overview as HTML (refreshes itself every 5 s)."""
    require_http(request, (Role.ADMIN,))
    conference = request.app[CONFERENCE]
    here = _listeners_here(request)
    rows = []
    for room in conference.rooms:
        item = _room_json(room, here)
        n = html.escape(room.room)
        alarms = "<br>".join(html.escape(a) for a in room.alarms) or "ok"
        state = "STALE" if room.stale else "live"
        cost = ((item["cost"] or {}).get("usd") or {}).get("total", "?")
        engine = f"{item['engine'] or '?'}{' (offline)' if item['offline'] else ''}"
        rows.append(
            f"<tr class='{'stale' if room.stale else 'live'}' data-room='{n}'>"
            f"<td>{n}</td><td>{state}</td><td class='alarms'>{alarms}</td>"
            f"<td>{html.escape(engine)}</td><td>{html.escape(str(item['audio']))}</td>"
            f"<td>{item['listeners_at_room'] or 0} + {item['listeners_here']}</td>"
            f"<td>{html.escape(_last_final_age(item['last_final_at']))}</td>"
            f"<td>{html.escape(str(cost))}</td>"
            f"<td><a href='/listen/{n}'>listen</a> <a href='/rooms/{n}/transcript.txt'>txt</a>"
            "</td></tr>"
        )
    body = (
        "\n".join(rows)
        or "<tr><td colspan=9>No rooms yet: no room replicates to this hub's Redis.</td></tr>"
    )
    error = conference.error
    banner = f"<p class='alarm' role='alert'>Redis: {html.escape(error)}</p>" if error else ""
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Conference overview</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="5">
<style>body{{font-family:system-ui,sans-serif;margin:2rem}}td,th{{padding:.3rem .8rem;
text-align:left;vertical-align:top}}tr.stale{{color:#888}}.alarm{{color:#b00}}</style></head>
<body><h1>Conference overview</h1>{banner}
<table><thead><tr><th>Room</th><th>State</th><th>Alarms</th><th>Engine</th><th>Audio</th>
<th>Listeners (room + this hub)</th><th>Last final</th><th>Cost (USD)</th><th></th></tr></thead>
<tbody>
{body}
</tbody></table>
<p>edge-server hub {__version__} &middot; <a href="/metrics">/metrics</a></p>
</body></html>"""
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})


async def listen_page(request: web.Request) -> web.FileResponse:
    """The phone page (the same file as on a room server)."""
    room_name_or_400(request)
    return web.FileResponse(kiosk.LISTEN_PAGE, headers={"Cache-Control": "no-cache"})


async def kiosk_page(request: web.Request) -> web.FileResponse:
    """The monitor page (the same file as on a room server)."""
    room_name_or_400(request)
    return web.FileResponse(kiosk.KIOSK_PAGE, headers={"Cache-Control": "no-cache"})


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

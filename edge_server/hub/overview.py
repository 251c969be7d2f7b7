"""The conference overview of a hub: ``/`` as HTML (refreshed every 5 s) and ``/api/overview``
as JSON, both with the admin token as the Pi's status page. Every room that replicates to the
hub's Redis: stale or live, its alarms, engine, audio, the talk on now and the next one,
listeners, the last final's age, cost."""

from __future__ import annotations

import datetime as dt
import html
import time
from typing import Any
from urllib.parse import quote

from aiohttp import web

from edge_server import __version__
from edge_server.core.auth import Role
from edge_server.core.replication import RoomOverview
from edge_server.hub.keys import CONFERENCE
from edge_server.web.access import require_http
from edge_server.web.app_keys import REFUSED

TALK_FIELDS = ("id", "title", "speakers", "start", "end")


def _talk(value: object) -> dict[str, Any] | None:
    """A talk of a room's screen status (``talk``, ``next_talk``) as the overview shows it."""
    if not isinstance(value, dict):
        return None
    return {k: value.get(k) for k in TALK_FIELDS}


def _room_json(room: RoomOverview, relayed: dict[str, int]) -> dict[str, Any]:
    status = room.status
    screen = status.get("screen")
    screen = screen if isinstance(screen, dict) else {}
    return {
        "room": room.room,
        "stale": room.stale,
        "status_age_s": None if room.age_s is None else round(room.age_s, 1),
        "alarms": list(room.alarms),
        "engine": status.get("engine"),
        "offline": status.get("offline"),
        "audio": status.get("audio"),
        "talk": _talk(screen.get("talk")),
        "next_talk": _talk(screen.get("next_talk")),
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
    """Every room that replicates, with alarms, engine, talks, listeners, last final, stale
    marks."""
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


def _clock(value: object) -> str:
    """``HH:MM`` of an ISO time, in the schedule's own offset (the conference's local time)."""
    if not isinstance(value, str):
        return "?"
    try:
        return f"{dt.datetime.fromisoformat(value):%H:%M}"
    except ValueError:
        return "?"


def _talk_text(talk: dict[str, Any] | None, prefix: str, when: str) -> str:
    if talk is None:
        return ""
    speakers = talk.get("speakers")
    names = ", ".join(str(s) for s in speakers) if isinstance(speakers, list) else ""
    text = f"{prefix}: {talk.get('title') or '?'}"
    text += f" ({names})" if names else ""
    return f"{text} {when} {_clock(talk.get('end' if when == 'until' else 'start'))}"


def _talk_cell(item: dict[str, Any]) -> str:
    """The room's "Now: … / Next: …" (empty without a schedule)."""
    now = _talk_text(item["talk"], "Now", "until")
    upcoming = _talk_text(item["next_talk"], "Next", "at")
    parts = [f"<span class='now'>{html.escape(now)}</span>"] if now else []
    parts += [f"<span class='next'>{html.escape(upcoming)}</span>"] if upcoming else []
    return "<br>".join(parts)


def _last_final_age(value: object) -> str:
    if not isinstance(value, str):
        return "none yet"
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return "?"
    return f"{max(0.0, time.time() - when):.0f} s ago"


def _row(room: RoomOverview, item: dict[str, Any]) -> str:
    n = html.escape(room.room)
    q = html.escape(quote(room.room))
    alarms = "<br>".join(html.escape(a) for a in room.alarms) or "ok"
    state = "STALE" if room.stale else "live"
    cost = ((item["cost"] or {}).get("usd") or {}).get("total", "?")
    engine = f"{item['engine'] or '?'}{' (offline)' if item['offline'] else ''}"
    return (
        f"<tr class='{'stale' if room.stale else 'live'}' data-room='{n}'>"
        f"<td>{n}</td><td>{state}</td><td class='alarms'>{alarms}</td>"
        f"<td class='talk'>{_talk_cell(item)}</td>"
        f"<td>{html.escape(engine)}</td><td>{html.escape(str(item['audio']))}</td>"
        f"<td>{item['listeners_at_room'] or 0} + {item['listeners_here']}</td>"
        f"<td>{html.escape(_last_final_age(item['last_final_at']))}</td>"
        f"<td>{html.escape(str(cost))}</td>"
        f"<td><a href='/listen/{q}'>listen</a> <a href='/overlay/{q}'>overlay</a> "
        f"<a href='/rooms/{q}/transcript.txt'>txt</a> <a href='/rooms/{q}/talks'>talks</a>"
        "</td></tr>"
    )


async def overview_page(request: web.Request) -> web.Response:
    """The conference overview as HTML (refreshes itself every 5 s)."""
    require_http(request, (Role.ADMIN,))
    conference = request.app[CONFERENCE]
    here = _listeners_here(request)
    rows = [_row(room, _room_json(room, here)) for room in conference.rooms]
    body = (
        "\n".join(rows)
        or "<tr><td colspan=10>No rooms yet: no room replicates to this hub's Redis.</td></tr>"
    )
    error = conference.error
    banner = f"<p class='alarm' role='alert'>Redis: {html.escape(error)}</p>" if error else ""
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Conference overview</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="5">
<style>body{{font-family:system-ui,sans-serif;margin:2rem}}td,th{{padding:.3rem .8rem;
text-align:left;vertical-align:top}}tr.stale{{color:#888}}.alarm{{color:#b00}}
.next{{color:#555}}</style></head>
<body><h1>Conference overview</h1>{banner}
<table><thead><tr><th>Room</th><th>State</th><th>Alarms</th><th>Talk</th><th>Engine</th>
<th>Audio</th><th>Listeners (room + this hub)</th><th>Last final</th><th>Cost (USD)</th><th></th>
</tr></thead>
<tbody>
{body}
</tbody></table>
<p>edge-server hub {__version__} &middot; <a href="/metrics">/metrics</a></p>
</body></html>"""
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})

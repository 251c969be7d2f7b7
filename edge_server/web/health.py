"""``GET /healthz``: every room's health as JSON (open to all: it carries no captions).

It answers 200 while the server serves; ``status`` is ``ok``, or ``degraded`` with the reasons
in ``alarms`` (a transcript the disk refuses, unsaved finals dropped, low disk space, a
schedule that cannot be read, a room it does not know, a clock not synchronized while a schedule
needs it, a custom vocabulary or terminology that failed), so a probe can alarm without
parsing every room.
"""

from __future__ import annotations

from aiohttp import web

from edge_server import __version__
from edge_server.rooms.status_views import (
    glossary_alarms,
    health,
    replication_alarms,
    storage_alarms,
    talk_alarms,
)
from edge_server.web.app_keys import ROOMS


async def healthz(request: web.Request) -> web.Response:
    """JSON health: every room with its engine, whether audio flows and its storage."""
    items = sorted(request.app[ROOMS].rooms.items())
    rooms = {name: health(room) for name, room in items}
    talks = request.app[ROOMS].talks
    alarms = [alarm for _, room in items for alarm in storage_alarms(room)]
    alarms += talks.alarms() + [alarm for _, room in items for alarm in talk_alarms(room)]
    alarms += [alarm for _, room in items for alarm in replication_alarms(room)]
    alarms += [alarm for _, room in items for alarm in glossary_alarms(room)]
    return web.json_response(
        {
            "status": "degraded" if alarms else "ok",
            "version": __version__,
            "alarms": alarms,
            **talks.report(),
            "rooms": rooms,
        }
    )

"""``GET /ws/captions/{room}`` on a hub: the room server's protocol (status, backlog, live
finals, ``ping``, ``listen``; :func:`edge_server.web.ws_captions.serve_captions`) from Redis.
Text only: speech is not relayed by hubs.

A listener costs Redis nothing when the hub already knows its room (a relay runs, or the last
read of the room set listed it): a crowd arriving at once (a talk starts, a hub restarts
behind the proxy) must not ask Redis once per listener. It did: thousands of concurrent
``SISMEMBER`` calls each took a connection of the client's pool (redis-py allows 100), and
the rest were refused at once with ``MaxConnectionsError``, i.e. closed 1013.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from edge_server.hub.conference import Conference
from edge_server.hub.keys import CONFERENCE, room_name_or_400
from edge_server.replication.connection import REDIS_FAILURES
from edge_server.web.access import limit_attempts
from edge_server.web.ws_captions import CaptionSource, serve_captions

LOAD_TIMEOUT_S = 10.0
CLOSE_UNKNOWN_ROOM = 4004
CLOSE_TRY_AGAIN = 1013


def already_known(conference: Conference, room: str) -> bool:
    """True when ``room`` replicates to this hub's Redis as far as the hub knows without
    asking: it has a relay, or the overview's last read of the room set lists it."""
    return room in conference.relays or any(r.room == room for r in conference.rooms)


async def captions(request: web.Request) -> web.StreamResponse:
    """Send the room's status, the backlog, then live finals until the client leaves or lags.

    A room that does not replicate to this hub's Redis: close 4004 ``unknown_room``; Redis
    unreadable: close 1013 (try again: the pages reconnect)."""
    limit_attempts(request)
    name = room_name_or_400(request)
    conference = request.app[CONFERENCE]

    async def find(ws: web.WebSocketResponse) -> CaptionSource | None:
        try:
            if not already_known(conference, name) and not await conference.known(name):
                reason = f"unknown_room: {name} does not replicate to this hub"
                await ws.close(code=CLOSE_UNKNOWN_ROOM, message=reason.encode()[:120])
                return None
            relay = conference.relay(name)
            await asyncio.wait_for(relay.loaded.wait(), LOAD_TIMEOUT_S)
        except (*REDIS_FAILURES, TimeoutError):  # type: ignore[misc]
            await ws.close(code=CLOSE_TRY_AGAIN, message=b"unavailable: the hub cannot read Redis")
            return None
        return relay

    return await serve_captions(request, name, find)

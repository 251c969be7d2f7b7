"""``GET /ws/captions/{room}`` on a hub: the room server's protocol (status, backlog, live
finals, ``ping``, ``listen``) from Redis. Text only: speech is not relayed by hubs."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import WSMsgType, web

from edge_server.core.subscribe_params import (
    InvalidParameter,
    ListenRequest,
    listen_from_query,
    parse_subscribe_params,
)
from edge_server.hub.keys import CONFERENCE, room_name_or_400
from edge_server.hub.relay import RoomRelay
from edge_server.replication.connection import REDIS_FAILURES
from edge_server.rooms.fanout import DirectWriter, Subscriber, dumps_message
from edge_server.web.access import READ_ROLES, close_refused, limit_attempts, refusal_for
from edge_server.web.app_keys import SETTINGS, SOCKETS
from edge_server.web.errors import json_error
from edge_server.web.ws_captions import error_message, handle_text

log = logging.getLogger(__name__)
MAX_INCOMING = 4096
LOAD_TIMEOUT_S = 10.0
CLOSE_UNKNOWN_ROOM = 4004
CLOSE_TRY_AGAIN = 1013
NO_SPEECH = "speech is not relayed by the hub: text only"


async def captions(request: web.Request) -> web.StreamResponse:
    """Send the room's status, the backlog, then live finals until the client leaves or lags."""
    limit_attempts(request)
    name = room_name_or_400(request)
    settings = request.app[SETTINGS]
    try:
        params = parse_subscribe_params(
            request.query,
            backlog_default=settings.backlog_default,
            backlog_max=settings.backlog_max,
        )
        initial = listen_from_query(request.query)
    except InvalidParameter as exc:
        raise json_error(web.HTTPBadRequest, "invalid_parameter", str(exc)) from None
    ws = web.WebSocketResponse(max_msg_size=MAX_INCOMING, heartbeat=20.0, compress=False)
    await ws.prepare(request)
    refused = refusal_for(request, READ_ROLES)
    if refused is not None:
        await close_refused(ws, *refused)
        return ws
    conference = request.app[CONFERENCE]
    try:
        known = await conference.known(name)
        relay = conference.relay(name) if known else None
        if relay is not None:
            await asyncio.wait_for(relay.loaded.wait(), LOAD_TIMEOUT_S)
    except (*REDIS_FAILURES, TimeoutError):  # type: ignore[misc]
        await ws.close(code=CLOSE_TRY_AGAIN, message=b"unavailable: the hub cannot read Redis")
        return ws
    if relay is None:
        reason = f"unknown_room: {name} does not replicate to this hub"
        await ws.close(code=CLOSE_UNKNOWN_ROOM, message=reason.encode()[:120])
        return ws
    request.app[SOCKETS].add(ws)
    label = f"hub subscriber {request.remote} of room {name}"

    async def close(code: int, reason: str) -> None:
        await ws.close(code=code, message=reason.encode())

    backlog = list(relay.recent)[-params.backlog :] if params.backlog else []
    transport = request.transport
    direct = DirectWriter(transport, lambda: ws.closed) if transport is not None else None
    subscriber = Subscriber(
        ws.send_str,
        close,
        partials=params.partials,
        queue_size=settings.subscriber_queue + len(backlog) + 1,
        label=label,
        direct=direct,
    )
    # No await between the snapshot above and add(): nothing slips between backlog and live.
    subscriber.offer(dumps_message(relay.screen))
    for record in backlog:
        subscriber.offer(dumps_message(record | {"backlog": True}))
    relay.broadcaster.add(subscriber)
    if initial is not None:
        _listen(relay, subscriber, initial)
    log.info("%s connected (%d backlog)", label, len(backlog))
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                handle_text(subscriber, msg.data, lambda r: _listen(relay, subscriber, r))
    finally:
        await relay.broadcaster.remove(subscriber)
        request.app[SOCKETS].discard(ws)
        log.info("%s disconnected", label)
    return ws


def _listen(relay: RoomRelay, subscriber: Subscriber, request: ListenRequest) -> None:
    offered = relay.languages()
    if request.lang is not None and offered and request.lang not in offered:
        subscriber.offer(
            error_message(
                "unknown_language",
                f"room {relay.room} offers {', '.join(offered)}, not {request.lang}",
            )
        )
        return
    subscriber.lang = request.lang
    subscriber.audio = False
    reason = NO_SPEECH if request.audio else None
    subscriber.offer(
        dumps_message(
            {"type": "listening", "lang": subscriber.lang, "audio": False, "reason": reason}
        )
    )

"""``GET /ws/captions/{room}``: kiosks, phones and other caption subscribers."""

from __future__ import annotations

import json
import logging

from aiohttp import WSMsgType, web

from edge_server.fanout import Subscriber
from edge_server.keys import SETTINGS, SOCKETS
from edge_server.subscribe_params import InvalidParameter, parse_subscribe_params
from edge_server.web_errors import json_error, room_or_400

log = logging.getLogger(__name__)
MAX_INCOMING = 4096


async def captions(request: web.Request) -> web.StreamResponse:
    """Send status, the backlog, then live captions until the client leaves or lags."""
    room = room_or_400(request)
    settings = request.app[SETTINGS]
    try:
        params = parse_subscribe_params(
            request.query,
            backlog_default=settings.backlog_default,
            backlog_max=settings.backlog_max,
        )
    except InvalidParameter as exc:
        raise json_error(web.HTTPBadRequest, "invalid_parameter", str(exc)) from None
    # No permessage-deflate: captions are small, and deflating each one once per subscriber
    # would cost more CPU in fan-out than it saves on the network.
    ws = web.WebSocketResponse(max_msg_size=MAX_INCOMING, heartbeat=20.0, compress=False)
    await ws.prepare(request)
    request.app[SOCKETS].add(ws)
    label = f"subscriber {request.remote} of room {room.name}"

    async def close(code: int, reason: str) -> None:
        await ws.close(code=code, message=reason.encode())

    backlog = room.store.backlog(params.backlog)
    subscriber = Subscriber(
        ws.send_str,
        close,
        partials=params.partials,
        queue_size=settings.subscriber_queue + len(backlog) + 1,
        label=label,
    )
    # No await between the snapshot above and add(): nothing can slip between backlog and live.
    subscriber.offer(json.dumps(room.status_message()))
    for record in backlog:
        subscriber.offer(json.dumps(record | {"backlog": True}, ensure_ascii=False))
    room.broadcaster.add(subscriber)
    log.info("%s connected (%d backlog)", label, len(backlog))
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT and _is_ping(msg.data):
                subscriber.offer('{"type":"pong"}')
    finally:
        await room.broadcaster.remove(subscriber)
        request.app[SOCKETS].discard(ws)
        log.info("%s disconnected", label)
    return ws


def _is_ping(text: str) -> bool:
    try:
        return bool(json.loads(text).get("type") == "ping")
    except (ValueError, AttributeError):
        return False

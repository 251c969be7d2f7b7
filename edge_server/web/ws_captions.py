"""``GET /ws/captions/{room}``: kiosks, phones and other caption subscribers.

:func:`serve_captions` is the protocol for any :class:`CaptionSource`: a room of this server,
or a hub's relay of a room from Redis (:mod:`edge_server.hub.captions`)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import WSMsgType, web

from edge_server.core.subscribe_params import (
    InvalidParameter,
    ListenRequest,
    listen_from_query,
    parse_listen_message,
    parse_subscribe_params,
)
from edge_server.core.trace import PipelineTrace
from edge_server.rooms.fanout import Broadcaster, DirectWriter, Subscriber, dumps_message
from edge_server.rooms.room import Room
from edge_server.rooms.status_views import status_message
from edge_server.web.access import READ_ROLES, close_refused, limit_attempts, refusal_for
from edge_server.web.app_keys import REFUSED, SETTINGS, SOCKETS
from edge_server.web.errors import json_error, room_or_400

log = logging.getLogger(__name__)
MAX_INCOMING = 4096


class CaptionSource(Protocol):
    """Where a subscriber's captions come from: a room here, a hub's relay of one from Redis."""

    name: str
    broadcaster: Broadcaster
    trace: PipelineTrace | None

    def status_text(self) -> str:
        """The ``status`` message a subscriber gets first."""
        ...

    def backlog(self, limit: int) -> list[dict[str, Any]]:
        """The last ``limit`` finals, oldest first."""
        ...

    def listen(self, subscriber: Subscriber, request: ListenRequest) -> None:
        """Apply a listener's choice of language and sound, and say what it got."""
        ...


class RoomCaptions:
    """A room of this server as a :class:`CaptionSource`."""

    def __init__(self, room: Room) -> None:
        self.room = room
        self.name = room.name
        self.broadcaster = room.broadcaster
        self.trace = room.trace

    def status_text(self) -> str:
        """The room's ``status`` message."""
        return dumps_message(status_message(self.room))

    def backlog(self, limit: int) -> list[dict[str, Any]]:
        """The room's last finals."""
        return self.room.store.backlog(limit)

    def listen(self, subscriber: Subscriber, request: ListenRequest) -> None:
        """Language and speech, as the room offers them."""
        _listen(self.room, subscriber, request)


FindSource = Callable[[web.WebSocketResponse], Awaitable[CaptionSource | None]]


async def captions(request: web.Request) -> web.StreamResponse:
    """Send status, the backlog, then live captions until the client leaves or lags."""
    limit_attempts(request)
    room = room_or_400(request)

    async def find(_ws: web.WebSocketResponse) -> CaptionSource:
        return RoomCaptions(room)

    return await serve_captions(request, room.name, find)


async def serve_captions(request: web.Request, name: str, find: FindSource) -> web.StreamResponse:
    """The captions socket of room ``name``, fed by the source ``find`` returns once the socket
    is open and the token checked (None: ``find`` closed the socket with its reason). Room
    servers and hubs."""
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
    # No permessage-deflate: captions are small, and deflating each one once per subscriber
    # would cost more CPU in fan-out than it saves on the network.
    ws = web.WebSocketResponse(max_msg_size=MAX_INCOMING, heartbeat=20.0, compress=False)
    await ws.prepare(request)
    refused = refusal_for(request, READ_ROLES)
    if refused is not None:
        # Remembered for the status page: a kiosk left with an old token shows up there.
        request.app[REFUSED].record(
            request.remote or "?", name, request.query.get("client", ""),
            refused[0].code, time.time(),
        )  # fmt: skip
        await close_refused(ws, *refused)
        return ws
    source = await find(ws)
    if source is None:
        return ws
    request.app[SOCKETS].add(ws)
    label = f"subscriber {request.remote} of room {source.name}"

    async def close(code: int, reason: str) -> None:
        await ws.close(code=code, message=reason.encode())

    backlog = source.backlog(params.backlog)
    transport = request.transport
    direct = DirectWriter(transport, lambda: ws.closed) if transport is not None else None
    subscriber = Subscriber(
        ws.send_str,
        close,
        partials=params.partials,
        queue_size=settings.subscriber_queue + len(backlog) + 1,
        label=label,
        send_bytes=ws.send_bytes,
        direct=direct,
        trace=source.trace,
    )
    # No await between the snapshot above and add(): nothing can slip between backlog and live.
    subscriber.offer(source.status_text())
    for record in backlog:
        subscriber.offer(dumps_message(record | {"backlog": True}))
    source.broadcaster.add(subscriber)
    if initial is not None:
        source.listen(subscriber, initial)
    log.info("%s connected (%d backlog)", label, len(backlog))
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                handle_text(subscriber, msg.data, lambda r: source.listen(subscriber, r))
    finally:
        await source.broadcaster.remove(subscriber)
        request.app[SOCKETS].discard(ws)
        log.info("%s disconnected", label)
    return ws


def handle_text(subscriber: Subscriber, text: str, listen: Callable[[ListenRequest], None]) -> None:
    """A message from a subscriber: ``ping`` (answered) or ``listen`` (parsed, then given to
    ``listen``); anything else gets an error. Room servers and hubs share it."""
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deeply
        message = None
    if not isinstance(message, dict):
        subscriber.offer(error_message("bad_message", "expected a JSON object"))
        return
    kind = message.get("type")
    if kind == "ping":
        subscriber.offer('{"type":"pong"}')
    elif kind == "listen":
        try:
            request = parse_listen_message(message)
        except InvalidParameter as exc:
            subscriber.offer(error_message("invalid_parameter", str(exc)))
            return
        listen(request)
    else:
        subscriber.offer(
            error_message(
                "unknown_type", f"unknown message type {str(kind)[:40]!r}; send ping or listen"
            )
        )


def _listen(room: Room, subscriber: Subscriber, request: ListenRequest) -> None:
    """Apply a listener's choice of language and sound, and say what it got."""
    offered = room.languages()
    if request.lang is not None and request.lang not in offered:
        subscriber.offer(
            error_message(
                "unknown_language",
                f"room {room.name} offers {', '.join(offered)}, not {request.lang}",
            )
        )
        return
    subscriber.lang = request.lang
    reason = _no_audio_reason(room, request.lang) if request.audio else None
    subscriber.audio = request.audio and reason is None
    subscriber.offer(
        dumps_message(
            {
                "type": "listening",
                "lang": subscriber.lang,
                "audio": subscriber.audio,
                "reason": reason,
            }
        )
    )


def _no_audio_reason(room: Room, lang: str | None) -> str | None:
    if room.speech is None:
        return "this room has no speech engine: text only"
    if lang is None:
        return "choose a language to hear"
    if lang == room.languages()[0]:
        return f"speech is offered for translations; the room itself speaks {lang}"
    if lang in room.speech.unsupported:
        return room.speech.unsupported[lang]
    return None


def error_message(code: str, message: str) -> str:
    """An ``error`` message for a subscriber."""
    return dumps_message({"type": "error", "code": code, "message": message})

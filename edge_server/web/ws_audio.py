"""``GET /ws/audio/{room}``: the audio node's uplink (thin adapter over audio_protocol)."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from edge_server import __version__
from edge_server.contract.audio_format import BYTES_PER_SECOND, WS_MAX_MESSAGE_BYTES
from edge_server.contract.log_fields import set_log_fields
from edge_server.contract.uplink import ErrorCode, ProtocolError, StreamHello
from edge_server.contract.uplink_server import (
    AudioReceived,
    AudioUplinkProtocol,
    EndReceived,
    GapReceived,
    HelloReceived,
    LevelReceived,
    Refused,
)
from edge_server.core.auth import Role
from edge_server.core.engine_api import EngineError
from edge_server.rooms.audio_session import AudioSession
from edge_server.rooms.room import Room
from edge_server.web.access import close_refused, limit_attempts, refusal_for
from edge_server.web.app_keys import SETTINGS, SOCKETS
from edge_server.web.errors import room_or_400

log = logging.getLogger(__name__)
HELLO_TIMEOUT_S = 10.0


async def _send_json(ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
    if not ws.closed:
        await ws.send_str(json.dumps(message, ensure_ascii=False))


async def _refuse(ws: web.WebSocketResponse, error: ProtocolError) -> None:
    with contextlib.suppress(ConnectionError, RuntimeError):
        await _send_json(ws, error.to_message())
        if error.fatal:
            await ws.close(code=error.close_code, message=error.close_reason().encode())


async def audio_uplink(request: web.Request) -> web.StreamResponse:
    """Accept one audio source for a room and run it through the room's pipeline."""
    limit_attempts(request)
    room = room_or_400(request)
    ws = web.WebSocketResponse(max_msg_size=WS_MAX_MESSAGE_BYTES, heartbeat=20.0, compress=False)
    await ws.prepare(request)
    refused = refusal_for(request, (Role.AUDIO,))
    if refused is not None:
        refusal, message = refused
        with contextlib.suppress(ConnectionError, RuntimeError):
            await _send_json(ws, {"type": "error", "code": refusal.code, "message": message})
            await close_refused(ws, refusal, message)
        return ws
    request.app[SOCKETS].add(ws)
    remote = request.remote or "?"
    protocol = AudioUplinkProtocol(request.app[SETTINGS].max_frame_bytes)
    try:
        hello = await _await_hello(ws, protocol)
        if hello is not None:
            transport = request.transport
            abort = transport.abort if transport is not None else None
            await _run_source(ws, room, protocol, hello, remote, abort)
    finally:
        request.app[SOCKETS].discard(ws)
    return ws


async def _await_hello(
    ws: web.WebSocketResponse, protocol: AudioUplinkProtocol
) -> StreamHello | None:
    try:
        msg = await ws.receive(timeout=HELLO_TIMEOUT_S)
    except TimeoutError:
        await _refuse(ws, ProtocolError(ErrorCode.BAD_HELLO, "no hello within 10 s"))
        return None
    events = _events_for(protocol, msg)
    if events is None:
        return None
    for event in events:
        if isinstance(event, HelloReceived):
            return event.hello
        if isinstance(event, Refused):
            await _refuse(ws, event.error)
    return None


def _events_for(protocol: AudioUplinkProtocol, msg: Any) -> list[Any] | None:
    """Protocol events for one aiohttp message, or None when the socket is closing."""
    if msg.type == WSMsgType.TEXT:
        return protocol.receive_text(msg.data)
    if msg.type == WSMsgType.BINARY:
        return protocol.receive_binary(msg.data)
    return None


async def _run_source(
    ws: web.WebSocketResponse,
    room: Room,
    protocol: AudioUplinkProtocol,
    hello: StreamHello,
    remote: str,
    abort: Callable[[], None] | None,
) -> None:
    # A source that just left may still be finalizing its last sentence: a reconnecting node
    # waits for that instead of being refused as a second source.
    await room.wait_previous_session()
    stale = room.sources.stale_for(hello, remote)
    if stale is not None:
        await room.sources.replace_stale(stale)
    try:
        source = room.claim_source(hello, remote)
    except ProtocolError as exc:
        log.info("room %s: refused audio from %s: %s", room.name, remote, exc.message)
        await _refuse(ws, exc)
        return

    source.abort = abort
    # journalctl SESSION=... / ENGINE=...: this connection's lines and its tasks' (ROOM is set)
    set_log_fields(session=source.session, engine=room.recognizer.name)

    async def recognizer_failed(exc: EngineError) -> None:
        await _refuse(ws, ProtocolError(ErrorCode.RECOGNIZER_FAILED, f"recognizer failed: {exc}"))

    log.info(
        "room %s: audio source %s connected from %s (%s %s, %s)",
        room.name, source.session, remote, hello.client_name, hello.client_version,
        source.language,
    )  # fmt: skip
    ended = False
    session: AudioSession | None = None
    try:
        session = await room.start_session(
            source, on_final=lambda rec: _send_json(ws, rec), on_failure=recognizer_failed
        )
        await _send_json(ws, _ready_message(room, source.session, session, protocol))
        ended = await _pump_audio(ws, protocol, room, session)
    except ProtocolError as exc:
        await _refuse(ws, exc)
    except EngineError as exc:
        await _refuse(ws, ProtocolError(ErrorCode.RECOGNIZER_FAILED, f"recognizer failed: {exc}"))
    finally:
        # Even when this handler is cancelled (the client vanished), the room finalizes what
        # it received: end_session runs as the room's task.
        failure = await room.end_session(session, source)
        log.info(
            "room %s: audio source %s gone after %.1f s of audio (%.1f s more received again "
            "and dropped), %d finals",
            room.name, source.session, source.audio_seconds,
            source.repeated_bytes / BYTES_PER_SECOND, source.finals,
        )  # fmt: skip
    if failure is not None:
        await _refuse(
            ws, ProtocolError(ErrorCode.RECOGNIZER_FAILED, f"recognizer failed: {failure}")
        )
    elif ended:
        # The client may hang up right after `end` without waiting for `ended`.
        with contextlib.suppress(ConnectionError, RuntimeError):
            await _send_json(
                ws,
                {
                    "type": "ended",
                    "finals": source.finals,
                    "audio_seconds": round(source.audio_seconds, 3),
                },
            )
            await ws.close(code=1000, message=b"end of stream")


def _ready_message(
    room: Room, session_id: str, session: AudioSession, protocol: AudioUplinkProtocol
) -> dict[str, Any]:
    ready: dict[str, Any] = {
        "type": "ready",
        "room": room.name,
        "session": session_id,
        "engine": room.recognizer.name,
        "language": session.source.language,
        "max_frame_bytes": protocol.max_frame_bytes,
        "timeline_start": round(session.timeline_start, 3),
        "server": {"name": "edge-server", "version": __version__},
    }
    if protocol.stream is not None:  # the node may resend: say how far the room has its audio
        ready["stream"] = {
            "id": protocol.stream,
            "received": room.clock.streams.end(protocol.stream),
        }
    return ready


async def _pump_audio(
    ws: web.WebSocketResponse, protocol: AudioUplinkProtocol, room: Room, session: AudioSession
) -> bool:
    """Feed frames until the client ends (True) or the connection goes (False)."""
    async for msg in ws:
        events = _events_for(protocol, msg)
        if events is None:
            continue
        for event in events:
            if isinstance(event, AudioReceived):
                await session.feed(event.pcm, event.position)
            elif isinstance(event, LevelReceived):
                room.sources.update_signal(session.source, event.level)
            elif isinstance(event, GapReceived):
                session.skip(event.dropped_s, event.offline_s)
            elif isinstance(event, EndReceived):
                return True
            elif isinstance(event, Refused):
                await _refuse(ws, event.error)
                if event.error.fatal:
                    return False
    return False

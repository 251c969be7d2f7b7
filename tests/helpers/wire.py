"""The client side of the server's two WebSockets, for tests: an audio source's ``hello``, JSON
messages with a time limit, and waiting for the server to close."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

HELLO = {
    "type": "hello",
    "format": "s16le",
    "sample_rate": 16000,
    "channels": 1,
    "language": "en-US",
    "client": {"name": "pytest", "version": "0"},
}


async def recv_json(ws: ClientConnection, timeout: float = 20.0) -> dict[str, Any]:
    """The next JSON message (fails the test after ``timeout``)."""
    raw = await asyncio.wait_for(ws.recv(), timeout)
    message = json.loads(raw)
    assert isinstance(message, dict)
    return message


async def open_audio(
    base_ws: str, room: str, hello: dict[str, Any] | None = None
) -> tuple[ClientConnection, dict[str, Any]]:
    """Connect an audio source, send hello, return the socket and the server's answer."""
    ws = await connect(f"{base_ws}/ws/audio/{room}", open_timeout=10)
    await ws.send(json.dumps(HELLO if hello is None else hello))
    return ws, await recv_json(ws)


async def wait_closed(ws: ClientConnection, timeout: float = 10.0) -> tuple[int | None, str]:
    """Read until the server closes; return its close code and reason."""

    async def drain() -> None:
        with contextlib.suppress(ConnectionClosed):
            async for _ in ws:
                pass

    await asyncio.wait_for(drain(), timeout)
    return ws.close_code, ws.close_reason or ""

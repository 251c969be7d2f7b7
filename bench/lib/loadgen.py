"""Load generator building blocks: subscribers, audio sources and a paced frame clock.

Runs in its own process (see :mod:`bench.procs.load`), so its CPU is not the server's.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.lib.wsraw import TEXT, OnMessage, RawWebSocket, connect

HOST = "127.0.0.1"
HELLO = {
    "type": "hello",
    "format": "s16le",
    "sample_rate": 16000,
    "channels": 1,
    "language": "en-US",
    "client": {"name": "bench", "version": "0"},
}


async def connect_many(
    port: int,
    paths: list[str],
    handler_for: Callable[[int], OnMessage],
    *,
    parallel: int = 64,
    rcvbuf: int | None = None,
) -> list[RawWebSocket]:
    """Open one socket per path (``handler_for(index)`` handles its messages), ``parallel`` at
    a time; raises if any fails."""
    limit = asyncio.Semaphore(parallel)

    async def one(index: int, path: str) -> RawWebSocket:
        async with limit:
            return await connect(HOST, port, path, handler_for(index), rcvbuf=rcvbuf)

    return list(await asyncio.gather(*(one(i, p) for i, p in enumerate(paths))))


class AudioSource:
    """An audio uplink: hello, wait for ``ready``, then binary frames."""

    def __init__(self) -> None:
        self.ws: RawWebSocket | None = None
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def _on_message(self, opcode: int, payload: bytes, now: float) -> None:
        if opcode == TEXT:
            self.messages.put_nowait(json.loads(payload) | {"_at": now})

    async def open(self, port: int, room: str, wait_s: float = 30.0) -> dict[str, Any]:
        """Connect and say hello; the server's ``ready`` (raises on anything else)."""
        self.ws = await connect(HOST, port, f"/ws/audio/{room}", self._on_message)
        self.ws.send_text(json.dumps(HELLO))
        ready = await asyncio.wait_for(self.messages.get(), wait_s)
        if ready.get("type") != "ready":
            raise RuntimeError(f"audio for {room} refused: {ready}")
        return ready

    def send(self, pcm: bytes) -> float:
        """Send one frame; the monotonic time just before it was handed to the socket."""
        assert self.ws is not None
        at = time.monotonic()
        self.ws.send(0x2, pcm)
        return at

    async def finish(self, wait_s: float = 10.0) -> None:
        """Send ``end``, wait for ``ended`` (or the timeout), close."""
        if self.ws is None:
            return
        self.ws.send_text('{"type":"end"}')

        async def ended() -> None:
            while (await self.messages.get()).get("type") != "ended":
                pass

        waiter = asyncio.ensure_future(ended())
        await asyncio.wait({waiter, self.ws.closed}, timeout=wait_s, return_when="FIRST_COMPLETED")
        waiter.cancel()
        self.ws.close()


async def paced(
    frames: int, frame_s: float, start: float, step: Callable[[int], Awaitable[None] | None]
) -> None:
    """Call ``step(k)`` for k in 0..frames-1 at ``start + k * frame_s`` (monotonic)."""
    for k in range(frames):
        delay = start + k * frame_s - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        result = step(k)
        if result is not None:
            await result


def close_all(sockets: list[RawWebSocket]) -> None:
    """Close every socket."""
    for ws in sockets:
        ws.close()

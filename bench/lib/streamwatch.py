"""When each final reached Redis: a blocking ``XREAD`` on the rooms' streams from the
benchmark's own process, stamping ``time.monotonic()`` per entry (its segment is its id). Set
beside the room's publication time, it splits the hub's latency: room and replicator up to
Redis, then the hub's read and fan-out."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from redis.asyncio import Redis

BLOCK_MS = 1000
"""Longest blocking read."""


class StreamWatch:
    """Watches streams from their current end until :meth:`stop`."""

    def __init__(self, url: str, keys: list[str]) -> None:
        self.url = url
        self.keys = keys
        self.arrived: dict[str, dict[int, float]] = {k: {} for k in keys}
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._stopping = False

    async def start(self) -> StreamWatch:
        """Begin watching (returns once the first read is under way)."""
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), 30)
        return self

    async def _run(self) -> None:
        client = Redis.from_url(self.url)
        try:
            last: dict[Any, Any] = {}
            for key in self.keys:
                newest: Any = await client.xrevrange(key, count=1)
                last[key] = newest[0][0] if newest else b"0-0"
            self._ready.set()
            while not self._stopping:
                answer: Any = await client.xread(last, block=BLOCK_MS)
                now = time.monotonic()
                for key, entries in answer:
                    name = key.decode()
                    for entry_id, _fields in entries:
                        last[name] = entry_id
                        segment = int(entry_id.split(b"-")[0])
                        self.arrived[name].setdefault(segment, now)
        finally:
            await client.aclose()

    async def stop(self) -> None:
        """Stop watching: the loop ends after its current read (at most ``BLOCK_MS``). Not by
        cancelling the read: a blocking command cancelled mid-read could leave redis-py's
        connection waiting forever (seen once on Python 3.11 under load)."""
        if self._task is None:
            return
        self._stopping = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), 10 * BLOCK_MS / 1000)
        except TimeoutError:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

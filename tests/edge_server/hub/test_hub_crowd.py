"""A crowd of listeners arriving at once at a hub (a hub restarted behind the proxy, a talk
starting): each one is served from what the hub already knows, without a Redis round trip per
listener, so a thousand listeners do not open a thousand Redis connections; and every one of
them gets the backlog and then each new final, in order."""

from __future__ import annotations

import asyncio
import json

import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect

from edge_server.core.replication import (
    ROOMS_KEY,
    entry_fields,
    entry_id,
    status_key,
    stream_key,
    wall_clock,
)
from edge_server.hub.keys import CONFERENCE
from tests.helpers.hub import LiveHub
from tests.helpers.live_server import make_settings
from tests.helpers.redis_server import RedisServer
from tests.helpers.waiting import wait_until

pytestmark = pytest.mark.timeout(120)

CROWD = 150


def final(segment: int) -> dict[str, object]:
    return {"type": "final", "room": "main", "segment": segment, "text": f"w{segment}",
            "lang": "en-US", "start": 0.0, "end": 1.0, "engine": "scripted"}  # fmt: skip


async def add_final(client: Redis, segment: int) -> None:
    await client.xadd(stream_key("main"), entry_fields(final(segment)), id=entry_id(segment))  # type: ignore[arg-type]


async def connections_received(client: Redis) -> int:
    return int((await client.info("stats"))["total_connections_received"])


async def finals(ws: ClientConnection, count: int) -> list[int]:
    segments = []
    while len(segments) < count:
        message = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if message["type"] == "final":
            segments.append(message["segment"])
    return segments


async def test_a_crowd_arriving_at_once_costs_no_redis_connection_each_and_misses_nothing(
    redis_server: RedisServer, tmp_path
) -> None:
    # The room as its replicator leaves it in Redis: listed, a status, three finals.
    client = Redis.from_url(redis_server.url)
    screen = {"type": "status", "room": "main", "languages": ["en-US"]}
    await client.set(status_key("main"), json.dumps({"screen": screen, "written": wall_clock()}))
    await client.sadd(ROOMS_KEY, "main")
    for segment in (1, 2, 3):
        await add_final(client, segment)
    settings = make_settings(tmp_path / "hub-unused", connect_burst=100_000, connect_rate=100_000)
    hub = await LiveHub(settings, redis_server.url).start()
    try:
        # The hub has read the room set once (its overview) before the crowd comes.
        conference = hub.server.app[CONFERENCE]
        await wait_until(
            lambda: any(r.room == "main" for r in conference.rooms), timeout=20,
            what="the room on the hub's overview",
        )  # fmt: skip
        before = await connections_received(client)
        url = hub.http.replace("http", "ws") + "/ws/captions/main?backlog=3"
        crowd = await asyncio.wait_for(
            asyncio.gather(*(connect(url, open_timeout=60) for _ in range(CROWD))), 90
        )
        backlogs = await asyncio.gather(*(finals(ws, 3) for ws in crowd))
        opened = await connections_received(client) - before
        # The relay's own connections (its backlog read, then its blocking read) and the
        # overview's refresh: a handful, not one per listener.
        assert opened <= 5, f"{opened} Redis connections for {CROWD} listeners"
        assert backlogs == [[1, 2, 3]] * CROWD
        for segment in (4, 5, 6):
            await add_final(client, segment)
        live = await asyncio.gather(*(finals(ws, 3) for ws in crowd))
        assert live == [[4, 5, 6]] * CROWD
        for ws in crowd:
            await ws.close()
    finally:
        await hub.stop()
        await client.aclose()

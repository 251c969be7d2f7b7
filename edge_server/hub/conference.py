"""The hub's view of the conference: every room that replicates to its Redis, read every
couple of seconds (the overview page, ``/api/overview``, ``/metrics``), and the relays of the
rooms this hub's listeners follow."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from redis.asyncio import Redis

from edge_server.contract.backoff import Backoff, BackoffPolicy
from edge_server.core.replication import ROOMS_KEY, RoomOverview, overview, status_key, wall_clock
from edge_server.hub.relay import RoomRelay
from edge_server.replication.connection import REDIS_FAILURES, describe_failure

log = logging.getLogger(__name__)
REFRESH_S = 2.0


class Conference:
    """The rooms in Redis (refreshed by :meth:`run`) and this hub's relays."""

    def __init__(self, client: Redis, url: str, stale_s: float, backlog_max: int) -> None:
        self.client = client
        self.url = url
        self.stale_s = stale_s
        self.backlog_max = backlog_max
        self.rooms: list[RoomOverview] = []
        self.error: str | None = "not read yet"
        """Why Redis could not be read (None: the last read worked)."""
        self.relays: dict[str, RoomRelay] = {}

    async def refresh(self) -> None:
        """Read the room set and every room's status once."""
        members: Any = await self.client.smembers(ROOMS_KEY)
        names = sorted(n.decode() for n in members)
        raws = await self.client.mget([status_key(n) for n in names]) if names else []
        now = wall_clock()
        self.rooms = [
            overview(n, raw, now, self.stale_s) for n, raw in zip(names, raws, strict=True)
        ]

    async def run(self) -> None:
        """Forever: refresh, with backoff while Redis is away."""
        backoff = Backoff(BackoffPolicy(first_s=0.5, max_s=10.0))
        while True:
            try:
                await self.refresh()
            except REDIS_FAILURES as exc:
                text = describe_failure(exc, self.url)
                if self.error != text:
                    log.error("hub: cannot read the conference from Redis: %s", text)
                self.error = text
                await asyncio.sleep(backoff.next_delay())
                continue
            if self.error is not None and self.error != "not read yet":
                log.warning("hub: Redis answers again")
            self.error = None
            backoff.reset()
            await asyncio.sleep(REFRESH_S)

    async def known(self, room: str) -> bool:
        """True when ``room`` replicates to this Redis (asks Redis: raises when it is away)."""
        if room in self.relays:
            return True
        member: Any = await self.client.sismember(ROOMS_KEY, room)
        return bool(member)

    def relay(self, room: str) -> RoomRelay:
        """The relay of ``room``, started on first use."""
        relay = self.relays.get(room)
        if relay is None:
            relay = RoomRelay(room, self.client, self.url, self.backlog_max)
            self.relays[room] = relay
            relay.start()
        return relay

    async def close(self) -> None:
        """Stop every relay."""
        for relay in list(self.relays.values()):
            await relay.stop()
        self.relays.clear()

"""One room's replicator: a task that copies the room's finals (in transcript order) and its
status to Redis, and catches up after an outage.

It never sits in the room's way: the room writes its transcript and shows its captions as
always; this task reads what the room has written (through a :class:`FinalsFeed`) and follows
it by position. When Redis is away it retries with backoff and the finals simply wait on the
Pi; when it answers again, everything after the stream's last id goes out in order. Every
command has a timeout, so a hung Redis costs this task time, never the room.

Where it resumes: the stream's own last id (``<segment>-0``) once connected; the cursor file
(``replication.json`` in the room's folder) says what was last confirmed, for the status page
while Redis cannot be asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from redis.asyncio import Redis

from edge_server.contract.backoff import Backoff, BackoffPolicy
from edge_server.core.replication import (
    ROOMS_KEY,
    ReplicationState,
    entry_fields,
    entry_id,
    is_duplicate_error,
    redact_url,
    segment_of,
    status_key,
    stream_key,
    talks_key,
    wall_clock,
)
from edge_server.core.wall_time import utc_now
from edge_server.replication.connection import REDIS_FAILURES, describe_failure, open_redis

log = logging.getLogger(__name__)

BATCH = 200
"""Most finals sent in one pipeline."""
IDLE_S = 1.0
"""Longest wait for the room's next final before looking again (the room wakes the task when
it appends one, so a final goes out as soon as it is on disk)."""
STATUS_EVERY_S = 2.0
"""How often the room's status is written (the hub marks a room stale after ``hub_stale_s``)."""
RETRY = BackoffPolicy(first_s=0.5, factor=1.5, max_s=10.0)


class FinalsFeed(Protocol):
    """The room's transcript as the replicator reads it (see ``rooms/replication_feed.py``)."""

    def newest(self) -> int:
        """The room's last segment (no I/O)."""
        ...

    def arm(self) -> None:
        """Forget earlier appends: the next :meth:`wait_appended` waits for a new one."""
        ...

    async def wait_appended(self, longest_s: float) -> None:
        """Until the room appends a final after the last :meth:`arm`, or ``longest_s`` seconds."""
        ...

    async def read_after(self, segment: int, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` finals after ``segment``, in segment order."""
        ...


StatusSource = Callable[[], dict[str, Any]]
FailureReport = Callable[[str], None]
ReserveSegments = Callable[[int], None]


class RoomReplicator:
    """Copies one room's finals and status to Redis, forever (run :meth:`run` as a task)."""

    def __init__(
        self,
        room: str,
        url: str,
        feed: FinalsFeed,
        status: StatusSource,
        cursor_path: Path,
        *,
        maxlen: int,
        on_failure: FailureReport | None = None,
        reserve: ReserveSegments | None = None,
        talks: StatusSource | None = None,
    ) -> None:
        """``status``: the room's status document (JSON-ready); ``on_failure``: told once per
        outage, in words (the room's error list); ``reserve``: told the last segment Redis (or
        the cursor file) holds, so the room never gives a new final an id at or below it (a
        restart that lost finals held in memory would otherwise reuse their ids, and the
        stream would refuse the new finals as duplicates); ``talks``: the room's talks
        document (written with the status, when it changed)."""
        self.room = room
        self.url = url
        self.feed = feed
        self.status = status
        self.cursor_path = cursor_path
        self.maxlen = maxlen
        self.on_failure = on_failure
        self.state = ReplicationState(target=redact_url(url))
        self.state.sent_through = self._load_cursor()
        self.reserve = reserve
        if reserve is not None:
            reserve(self.state.sent_through)
        self._backoff = Backoff(RETRY)
        self._client: Redis | None = None
        self._status_due = 0.0
        self.talks = talks
        self._talks_written: str | None = None

    # --- the cursor file ----------------------------------------------------------------------

    def _load_cursor(self) -> int:
        try:
            data = json.loads(self.cursor_path.read_text())
            return int(data["segment"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def _save_cursor(self, segment: int) -> None:
        tmp = self.cursor_path.with_name(self.cursor_path.name + ".tmp")
        try:
            tmp.write_text(json.dumps({"segment": segment, "target": self.state.target}))
            os.replace(tmp, self.cursor_path)
        except OSError as exc:  # a full disk: Redis's own last id is the truth anyway
            log.debug("room %s: cannot save %s: %s", self.room, self.cursor_path, exc)

    # --- the loop -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, catch up, follow; on any Redis failure back off and start over."""
        log.info("room %s: replicating to %s", self.room, self.state.target)
        try:
            while True:
                try:
                    await self._connect()
                    await self._follow()
                except REDIS_FAILURES as exc:
                    await self._failed(exc)
        finally:
            await self._disconnect()

    async def _connect(self) -> None:
        self._client = client = open_redis(self.url)
        last = await client.xrevrange(stream_key(self.room), count=1)
        # The stream's last id is what Redis holds; an empty (or wiped) stream gets the whole
        # transcript again (ids keep it free of duplicates).
        self.state.sent_through = segment_of(last[0][0] or b"0-0") if last else 0
        if self.state.sent_through > self.feed.newest():
            log.warning(
                "room %s: %s holds finals up to segment %d, beyond this room's transcript "
                "(%d): new finals take ids above it", self.room, self.state.target,
                self.state.sent_through, self.feed.newest(),
            )  # fmt: skip
        if self.reserve is not None:
            self.reserve(self.state.sent_through)
        self._talks_written = None  # a Redis that restarted empty gets them again
        await self._publish_status()  # before the room is listed: hubs find its status
        await client.sadd(ROOMS_KEY, self.room)
        if self.state.state == "failing":
            log.warning(
                "room %s: replication to %s works again after %s; %d finals to catch up",
                self.room, self.state.target, self.state.error, self._behind(),
            )  # fmt: skip
        else:
            log.info("room %s: connected to %s", self.room, self.state.target)
        self.state.state = "ok"
        self.state.error = None
        self.state.failing_since = None
        self._backoff.reset()
        self._status_due = 0.0  # again at once, with the state "ok"

    def _behind(self) -> int:
        self.state.newest = self.feed.newest()
        return self.state.behind

    async def _follow(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self.feed.arm()  # before looking: an append from now on ends the wait below
            if self.feed.newest() > self.state.sent_through:
                records = await self.feed.read_after(self.state.sent_through, BATCH)
                if records:
                    await self._send(records)
                    continue
            if loop.time() >= self._status_due:
                await self._publish_status()
                self._status_due = loop.time() + STATUS_EVERY_S
            await self.feed.wait_appended(max(0.0, min(IDLE_S, self._status_due - loop.time())))

    async def _send(self, records: list[dict[str, Any]]) -> None:
        assert self._client is not None
        key = stream_key(self.room)
        pipe = self._client.pipeline(transaction=False)
        for record in records:
            pipe.xadd(
                key,
                entry_fields(record),  # type: ignore[arg-type]
                id=entry_id(int(record["segment"])),
                maxlen=self.maxlen,
                approximate=True,
            )
        results = await pipe.execute(raise_on_error=False)
        for record, result in zip(records, results, strict=True):
            if isinstance(result, Exception) and not is_duplicate_error(str(result)):
                raise result
            self.state.sent_through = int(record["segment"])
        self._behind()
        await asyncio.to_thread(self._save_cursor, self.state.sent_through)

    async def _publish_status(self) -> None:
        assert self._client is not None
        self.state.newest = self.feed.newest()
        document = self.status() | {
            "written": wall_clock(),
            "written_at": utc_now(),
            "replication": self.state.report(),
        }
        await self._client.set(
            status_key(self.room), json.dumps(document, ensure_ascii=False, default=str)
        )
        if self.talks is not None:
            talks = json.dumps(self.talks(), ensure_ascii=False, default=str)
            if talks != self._talks_written:
                await self._client.set(talks_key(self.room), talks)
                self._talks_written = talks

    async def _failed(self, exc: BaseException) -> None:
        text = describe_failure(exc, self.url)
        first = self.state.state != "failing"
        self.state.state = "failing"
        self.state.error = text
        if self.state.failing_since is None:
            self.state.failing_since = wall_clock()
        self._behind()
        await self._disconnect()
        delay = self._backoff.next_delay()
        if first:
            log.error(
                "room %s: REPLICATION FAILING: %s; captions go on, finals wait on the Pi "
                "(%d behind); retrying with backoff", self.room, text, self.state.behind,
            )  # fmt: skip
            if self.on_failure is not None:
                self.on_failure(f"replication failing: {text}")
        else:
            log.debug("room %s: replication still failing: %s", self.room, text)
        await asyncio.sleep(delay)

    async def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(*REDIS_FAILURES):
                await client.aclose()

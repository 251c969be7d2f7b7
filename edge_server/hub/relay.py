"""One room's captions on a hub: the backlog and the live finals from the room's Redis stream,
fanned out to this hub's subscribers (the room server's own :mod:`~edge_server.rooms.fanout`).

One task per room reads the stream with a blocking XREAD from the last id it has seen, so an
outage of Redis is a pause: when Redis answers again it continues from that id and nobody gets
a final twice or misses one. The room's status (its screen ``status`` message) is read every
few seconds and sent when it changed.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
from typing import Any

from redis.asyncio import Redis

from edge_server.contract.backoff import Backoff, BackoffPolicy
from edge_server.core.replication import record_of, status_key, stream_key
from edge_server.core.subscribe_params import ListenRequest
from edge_server.core.trace import PipelineTrace
from edge_server.replication.connection import REDIS_FAILURES, describe_failure
from edge_server.rooms.fanout import Broadcaster, Subscriber, dumps_message
from edge_server.web.ws_captions import error_message

log = logging.getLogger(__name__)
BLOCK_MS = 2000
"""Longest blocking read; then the status is looked at again."""
STATUS_EVERY_S = 2.0
RETRY = BackoffPolicy(first_s=0.5, factor=1.5, max_s=5.0)
NO_SPEECH = "speech is not relayed by the hub: text only"


class RoomRelay:
    """Reads one room's stream and status from Redis and publishes them to subscribers."""

    def __init__(self, room: str, client: Redis, url: str, backlog_max: int) -> None:
        self.room = room
        self.name = room
        self.trace: PipelineTrace | None = None
        """Hubs trace nothing (the room server's pipeline hook)."""
        self.client = client
        self.url = url
        self.recent: collections.deque[dict[str, Any]] = collections.deque(maxlen=backlog_max)
        self.broadcaster = Broadcaster()
        self.loaded = asyncio.Event()
        """Set once the backlog is read (subscribers wait for it)."""
        self.screen: dict[str, Any] = {"type": "status", "room": room}
        """The room's last screen ``status`` message (languages, engine, audio...)."""
        self.last_id = b"0-0"
        self.relayed = 0
        """Finals published since this hub started."""
        self.error: str | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start reading (once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"relay-{self.room}")

    async def stop(self) -> None:
        """Stop reading."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def status_text(self) -> str:
        """The room's last ``status`` message."""
        return dumps_message(self.screen)

    def backlog(self, limit: int) -> list[dict[str, Any]]:
        """The last ``limit`` finals read from the stream, oldest first."""
        return list(self.recent)[-limit:] if limit > 0 else []

    def listen(self, subscriber: Subscriber, request: ListenRequest) -> None:
        """A language among the room's (text only: hubs relay no speech)."""
        offered = self.languages()
        if request.lang is not None and offered and request.lang not in offered:
            message = f"room {self.room} offers {', '.join(offered)}, not {request.lang}"
            subscriber.offer(error_message("unknown_language", message))
            return
        subscriber.lang = request.lang
        subscriber.audio = False
        reason = NO_SPEECH if request.audio else None
        listening = {"type": "listening", "lang": request.lang, "audio": False, "reason": reason}
        subscriber.offer(dumps_message(listening))

    def languages(self) -> list[str]:
        """What a listener may follow (from the room's status)."""
        languages = self.screen.get("languages")
        return [str(x) for x in languages] if isinstance(languages, list) else []

    async def _run(self) -> None:
        backoff = Backoff(RETRY)
        loop = asyncio.get_running_loop()
        status_due = 0.0
        while True:
            try:
                if not self.loaded.is_set():
                    await self._load()
                if loop.time() >= status_due:
                    await self._read_status()
                    status_due = loop.time() + STATUS_EVERY_S
                await self._read_finals()
                if self.error is not None:
                    log.warning("relay of room %s: Redis answers again", self.room)
                    self.error = None
                backoff.reset()
            except REDIS_FAILURES as exc:
                if self.error is None:
                    log.error(
                        "relay of room %s: %s; subscribers stay connected, reading resumes "
                        "where it stopped", self.room, describe_failure(exc, self.url),
                    )  # fmt: skip
                self.error = describe_failure(exc, self.url)
                await asyncio.sleep(backoff.next_delay())

    async def _load(self) -> None:
        await self._read_status()  # before the backlog: a subscriber's first message
        entries: Any = await self.client.xrevrange(
            stream_key(self.room), count=self.recent.maxlen or 1
        )
        for entry_id, fields in reversed(entries):
            record = record_of(fields)
            if record is not None:
                self.recent.append(record)
            self.last_id = entry_id
        self.loaded.set()

    async def _read_status(self) -> None:
        raw = await self.client.get(status_key(self.room))
        if raw is None:
            return
        try:
            screen = json.loads(raw).get("screen")
        except (ValueError, AttributeError):
            return
        if isinstance(screen, dict) and screen != self.screen:
            self.screen = screen
            self.broadcaster.publish(dumps_message(screen))

    async def _read_finals(self) -> None:
        answer: Any = await self.client.xread(
            {stream_key(self.room): self.last_id}, count=500, block=BLOCK_MS
        )
        for _key, entries in answer:
            for entry_id, fields in entries:
                self.last_id = entry_id
                record = record_of(fields)
                if record is None:
                    continue
                self.recent.append(record)
                self.relayed += 1
                self.broadcaster.publish(dumps_message(record))

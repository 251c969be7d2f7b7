"""Fan-out of caption messages to subscribers without letting a slow one stall the room.

Each subscriber has a bounded queue drained by its own sender task. Broadcasting only puts
already-serialized text into queues; a subscriber whose queue is full is closed with
:data:`CLOSE_TOO_SLOW` and forgotten, so memory stays bounded and nobody else waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

CLOSE_TOO_SLOW = 4008
_ids = itertools.count(1)

SendText = Callable[[str], Awaitable[None]]
Close = Callable[[int, str], Coroutine[Any, Any, None]]


class Subscriber:
    """One caption subscriber: a queue, a sender task, and its preferences."""

    def __init__(
        self, send: SendText, close: Close, *, partials: bool, queue_size: int, label: str
    ) -> None:
        self.id = next(_ids)
        self.partials = partials
        self.label = label
        self._send = send
        self._close = close
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task[None] | None = None
        self._close_task: asyncio.Task[None] | None = None
        self.dropped = False

    def start(self) -> None:
        """Start the sender task."""
        self._task = asyncio.create_task(self._run(), name=f"subscriber-{self.id}")

    async def _run(self) -> None:
        while True:
            text = await self._queue.get()
            if text is None:
                return
            try:
                await self._send(text)
            except (ConnectionError, RuntimeError):
                return

    def offer(self, text: str) -> bool:
        """Queue a message; False (and the subscriber is dropped) when its queue is full."""
        if self.dropped:
            return False
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            self.dropped = True
            log.warning("dropping %s: it does not keep up", self.label)
            self._close_task = asyncio.create_task(
                self._close(CLOSE_TOO_SLOW, "too slow: messages were piling up")
            )
            return False
        return True

    async def stop(self) -> None:
        """Stop the sender task (the WebSocket itself is closed by its handler)."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class Broadcaster:
    """The subscribers of one room."""

    def __init__(self) -> None:
        self.subscribers: dict[int, Subscriber] = {}

    def add(self, subscriber: Subscriber) -> None:
        """Register and start a subscriber."""
        self.subscribers[subscriber.id] = subscriber
        subscriber.start()

    async def remove(self, subscriber: Subscriber) -> None:
        """Forget a subscriber and stop its sender."""
        self.subscribers.pop(subscriber.id, None)
        await subscriber.stop()

    def publish(self, text: str, *, partial: bool = False) -> int:
        """Offer one serialized message to everyone (partials only to those who want them).

        Returns how many subscribers accepted it.
        """
        accepted = 0
        for subscriber in list(self.subscribers.values()):
            if partial and not subscriber.partials:
                continue
            if subscriber.offer(text):
                accepted += 1
            else:
                self.subscribers.pop(subscriber.id, None)
        return accepted

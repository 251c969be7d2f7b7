"""Fan-out of caption messages to subscribers without letting a slow one stall the room.

Each subscriber has a bounded queue drained by its own sender task. Broadcasting only puts
already-serialized text (and, for listeners with sound, speech PCM as bytes) into queues; a
subscriber whose queue is full, by count or by bytes, is closed with :data:`CLOSE_TOO_SLOW` and
forgotten, so memory stays bounded and nobody else waits.

A subscriber with nothing queued, nothing being sent and an empty socket buffer gets the
message's frame (built once per message, :mod:`edge_server.core.ws_frames`) written straight
to its socket: no task wake-up, no re-encoding per subscriber. Order is kept (the shortcut is
only taken when nothing is pending), and a subscriber that stops reading fills its socket
buffer, so it falls back to the queue and is dropped as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from edge_server.core.trace import PipelineTrace, Stage
from edge_server.core.ws_frames import frame_of

log = logging.getLogger(__name__)

CLOSE_TOO_SLOW = 4008
_ids = itertools.count(1)

SendText = Callable[[str], Awaitable[None]]
SendBytes = Callable[[bytes], Awaitable[None]]
Close = Callable[[int, str], Coroutine[Any, Any, None]]
MAX_QUEUED_BYTES = 4 * 1024 * 1024
"""Most bytes queued for one subscriber (about two minutes of speech) before it is dropped."""


def dumps_message(message: dict[str, Any]) -> str:
    """A message as compact JSON text, ready to offer to subscribers."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


class DirectWriter:
    """Writes prebuilt frames straight to a WebSocket's transport when it is idle."""

    def __init__(self, transport: asyncio.WriteTransport, is_closed: Callable[[], bool]) -> None:
        self.transport = transport
        self.is_closed = is_closed

    def try_write(self, frame: bytes) -> bool:
        """Write ``frame`` now if the socket is open and its buffer empty; else False."""
        transport = self.transport
        if self.is_closed() or transport.is_closing() or transport.get_write_buffer_size():
            return False
        transport.write(frame)
        return True


class Subscriber:
    """One caption subscriber: a queue, a sender task, and its preferences."""

    def __init__(
        self,
        send: SendText,
        close: Close,
        *,
        partials: bool,
        queue_size: int,
        label: str,
        send_bytes: SendBytes | None = None,
        max_bytes: int = MAX_QUEUED_BYTES,
        direct: DirectWriter | None = None,
        trace: PipelineTrace | None = None,
    ) -> None:
        self.id = next(_ids)
        self.partials = partials
        self.label = label
        self.lang: str | None = None
        """The language this subscriber follows (None: all of them, like a kiosk)."""
        self.audio = False
        """Whether it wants speech in :attr:`lang`."""
        self._send = send
        self._send_bytes = send_bytes
        self._close = close
        self._queue: asyncio.Queue[str | bytes | None] = asyncio.Queue(maxsize=queue_size)
        self._queued_bytes = 0
        self._max_bytes = max_bytes
        self._task: asyncio.Task[None] | None = None
        self._close_task: asyncio.Task[None] | None = None
        self._direct = direct
        self._trace = trace
        self._sending = False
        self.dropped = False

    def start(self) -> None:
        """Start the sender task."""
        self._task = asyncio.create_task(self._run(), name=f"subscriber-{self.id}")

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            self._queued_bytes -= len(item)
            self._sending = True
            try:
                if isinstance(item, bytes):
                    if self._send_bytes is not None:
                        await self._send_bytes(item)
                else:
                    await self._send(item)
                if self._trace is not None:
                    self._trace(Stage.SENT, item)
            except (ConnectionError, RuntimeError):
                return
            finally:
                self._sending = False

    def offer(self, item: str | bytes, frame: bytes | None = None) -> bool:
        """Send or queue a message (text, or speech as bytes); False, and the subscriber is
        dropped, when its queue is full. ``frame``: the message's prebuilt WebSocket frame."""
        if self.dropped:
            return False
        if (
            self._direct is not None
            and not self._sending
            and self._queue.empty()
            and (isinstance(item, str) or self._send_bytes is not None)
        ) and self._direct.try_write(frame_of(item) if frame is None else frame):
            if self._trace is not None:
                self._trace(Stage.SENT, item)
            return True
        if self._queued_bytes + len(item) > self._max_bytes:
            self._drop()
            return False
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self._drop()
            return False
        self._queued_bytes += len(item)
        return True

    def _drop(self) -> None:
        self.dropped = True
        log.warning("dropping %s: it does not keep up", self.label)
        self._close_task = asyncio.create_task(
            self._close(CLOSE_TOO_SLOW, "too slow: messages were piling up")
        )

    async def stop(self) -> None:
        """Stop the sender task (the WebSocket itself is closed by its handler)."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class Broadcaster:
    """The subscribers of one room."""

    def __init__(self, trace: PipelineTrace | None = None) -> None:
        """``trace`` sees each message published (see :mod:`edge_server.core.trace`)."""
        self.subscribers: dict[int, Subscriber] = {}
        self.trace = trace

    def add(self, subscriber: Subscriber) -> None:
        """Register and start a subscriber."""
        self.subscribers[subscriber.id] = subscriber
        subscriber.start()

    async def remove(self, subscriber: Subscriber) -> None:
        """Forget a subscriber and stop its sender."""
        self.subscribers.pop(subscriber.id, None)
        await subscriber.stop()

    def listeners(self, lang: str) -> list[Subscriber]:
        """Subscribers that want speech in ``lang``."""
        return [s for s in self.subscribers.values() if s.audio and s.lang == lang]

    def audio_languages(self) -> set[str]:
        """Languages at least one subscriber wants speech in."""
        return {s.lang for s in self.subscribers.values() if s.audio and s.lang}

    def offer_to(self, subscribers: list[Subscriber], item: str | bytes) -> None:
        """Offer one message to some subscribers; those that cannot keep up are forgotten."""
        frame = frame_of(item)
        for subscriber in subscribers:
            if not subscriber.offer(item, frame):
                self.subscribers.pop(subscriber.id, None)

    def publish(self, text: str, *, partial: bool = False) -> int:
        """Offer one serialized message to everyone (partials only to those who want them).

        Returns how many subscribers accepted it.
        """
        if self.trace is not None:
            self.trace(Stage.PUBLISHED, text)
        accepted = 0
        frame = frame_of(text)
        for subscriber in list(self.subscribers.values()):
            if partial and not subscriber.partials:
                continue
            if subscriber.offer(text, frame):
                accepted += 1
            else:
                self.subscribers.pop(subscriber.id, None)
        return accepted

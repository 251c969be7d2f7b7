"""Fan-out (edge_server.rooms.fanout) without a socket: order, the slow subscriber dropped
without stalling the others, partials, byte bounds, the direct-write shortcut, the trace."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from edge_server.contract import close_codes
from edge_server.core.trace import Stage
from edge_server.core.ws_frames import frame_of
from edge_server.rooms.fanout import Broadcaster, DirectWriter, Subscriber, dumps_message

pytestmark = pytest.mark.timeout(30)


class Peer:
    """The far end of one subscriber: what it received, and whether it reads at all."""

    def __init__(self, reads: bool = True) -> None:
        self.received: list[str | bytes] = []
        self.closed: tuple[int, str] | None = None
        self.reading = asyncio.Event()
        self.arrived = asyncio.Event()
        if reads:
            self.reading.set()

    async def send(self, item: str) -> None:
        await self.reading.wait()
        self.received.append(item)
        self.arrived.set()

    async def send_bytes(self, item: bytes) -> None:
        await self.reading.wait()
        self.received.append(item)
        self.arrived.set()

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def subscriber(self, **kwargs: Any) -> Subscriber:
        kwargs.setdefault("partials", True)
        kwargs.setdefault("queue_size", 16)
        return Subscriber(
            self.send,
            self.close,
            label="test subscriber",
            send_bytes=self.send_bytes,
            **kwargs,
        )


class FakeTransport:
    """Enough of an asyncio transport for :class:`DirectWriter`."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.buffered = 0
        self.closing = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return self.closing


async def drained(*peers: Peer, count: int) -> None:
    """Wait until every peer received ``count`` messages."""
    async with asyncio.timeout(10):
        for peer in peers:
            while len(peer.received) < count:
                peer.arrived.clear()
                await peer.arrived.wait()


def msg(i: int) -> str:
    return dumps_message({"type": "final", "segment": i, "text": f"line {i}"})


async def test_every_subscriber_gets_every_message_in_order() -> None:
    broadcaster = Broadcaster()
    peers = [Peer() for _ in range(3)]
    for peer in peers:
        broadcaster.add(peer.subscriber())
    for i in range(100):
        assert broadcaster.publish(msg(i)) == 3
        if i % 7 == 0:
            await asyncio.sleep(0)  # let senders run at odd moments
    await drained(*peers, count=100)
    for peer in peers:
        assert peer.received == [msg(i) for i in range(100)]
        assert peer.closed is None


async def test_a_subscriber_that_stops_reading_is_dropped_and_nobody_waits() -> None:
    broadcaster = Broadcaster()
    stuck, fine = Peer(reads=False), Peer()
    stuck_sub = stuck.subscriber(queue_size=4)
    broadcaster.add(stuck_sub)
    broadcaster.add(fine.subscriber(queue_size=4))
    accepted = []
    for i in range(20):
        accepted.append(broadcaster.publish(msg(i)))
        await asyncio.sleep(0)  # the good reader keeps up; the stuck one never does
    await drained(fine, count=20)
    assert fine.received == [msg(i) for i in range(20)]
    assert stuck_sub.dropped
    assert stuck_sub.id not in broadcaster.subscribers
    await asyncio.sleep(0)  # the close runs as its own task
    assert stuck.closed is not None
    assert stuck.closed[0] == close_codes.TOO_SLOW
    assert "too slow" in stuck.closed[1]
    # Once dropped, it counts no more: publish reports only who accepted.
    assert accepted[0] == 2
    assert accepted[-1] == 1
    assert stuck_sub.offer(msg(99)) is False
    await broadcaster.remove(stuck_sub)


async def test_partials_go_only_to_subscribers_that_asked() -> None:
    broadcaster = Broadcaster()
    wants, does_not = Peer(), Peer()
    broadcaster.add(wants.subscriber(partials=True))
    broadcaster.add(does_not.subscriber(partials=False))
    partial = dumps_message({"type": "partial", "segment": 1, "text": "hel"})
    assert broadcaster.publish(partial, partial=True) == 1
    assert broadcaster.publish(msg(1)) == 2
    await drained(wants, count=2)
    await drained(does_not, count=1)
    assert wants.received == [partial, msg(1)]
    assert does_not.received == [msg(1)]


async def test_queued_bytes_are_bounded_as_well_as_the_count() -> None:
    peer = Peer(reads=False)
    subscriber = peer.subscriber(queue_size=1000, max_bytes=50_000)
    subscriber.start()
    speech = b"\x00\x01" * 8000  # 16 000 bytes: half a second of speech
    assert [subscriber.offer(speech) for _ in range(3)] == [True, True, True]
    assert subscriber.offer(speech) is False  # 64 000 > 50 000
    assert subscriber.dropped
    await subscriber.stop()


async def test_idle_subscribers_get_the_prebuilt_frame_written_directly() -> None:
    transport = FakeTransport()
    peer = Peer()
    direct = DirectWriter(transport, lambda: False)  # type: ignore[arg-type]
    subscriber = peer.subscriber(direct=direct)
    broadcaster = Broadcaster()
    broadcaster.add(subscriber)
    broadcaster.publish(msg(1))
    broadcaster.offer_to([subscriber], b"\x01\x00" * 4)
    assert transport.written == [frame_of(msg(1)), frame_of(b"\x01\x00" * 4)]
    assert peer.received == []  # nothing went through the queue

    # A socket with bytes still buffered is not idle: the message is queued instead, and so
    # is everything after it while the queue is not empty, so the order is kept.
    transport.buffered = 10
    broadcaster.publish(msg(2))
    transport.buffered = 0
    broadcaster.publish(msg(3))
    await drained(peer, count=2)
    assert peer.received == [msg(2), msg(3)]
    assert transport.written == [frame_of(msg(1)), frame_of(b"\x01\x00" * 4)]
    await broadcaster.remove(subscriber)


async def test_a_closing_socket_gets_no_direct_write() -> None:
    transport = FakeTransport()
    transport.closing = True
    assert DirectWriter(transport, lambda: False).try_write(b"x") is False  # type: ignore[arg-type]
    assert DirectWriter(FakeTransport(), lambda: True).try_write(b"x") is False  # type: ignore[arg-type]
    assert transport.written == []


async def test_listeners_by_language_and_sound() -> None:
    broadcaster = Broadcaster()
    subs = []
    for lang, audio in [("it", True), ("it", False), ("de", True), (None, False)]:
        sub = Peer().subscriber()
        sub.lang, sub.audio = lang, audio
        broadcaster.add(sub)
        subs.append(sub)
    assert broadcaster.listeners("it") == [subs[0]]
    assert broadcaster.audio_languages() == {"it", "de"}
    for sub in subs:
        await broadcaster.remove(sub)
    assert broadcaster.subscribers == {}


async def test_the_trace_sees_publication_and_each_send() -> None:
    seen: list[tuple[Stage, object]] = []

    def trace(stage: Stage, item: object) -> None:
        seen.append((stage, item))

    broadcaster = Broadcaster(trace)
    queued, direct_peer = Peer(), Peer()
    broadcaster.add(queued.subscriber(trace=trace))
    direct = DirectWriter(FakeTransport(), lambda: False)  # type: ignore[arg-type]
    broadcaster.add(direct_peer.subscriber(trace=trace, direct=direct))
    broadcaster.publish(msg(7))
    await drained(queued, count=1)
    assert seen[0] == (Stage.PUBLISHED, msg(7))
    assert sorted(s.value for s, _ in seen[1:]) == ["sent", "sent"]
    assert all(item == msg(7) for _, item in seen)

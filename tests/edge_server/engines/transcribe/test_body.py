"""The request body that replaces the SDK's busy one: it sleeps until there is work.

A thread plays the C runtime (it calls ``read`` in a loop, as the runtime's event-loop thread
does); the asyncio side writes. The runtime's epoll descriptor is played by a real epoll object
watching a pipe, registered edge-triggered like the runtime registers everything.

Wake-ups are proven without racing the clock: where a read must be woken (by audio, the end of
the stream, ``close`` or a runtime event), the body's timed wait is made long (``LONG_WAIT_S``),
so a wake-up well before it can only come from the event, never from the timer; and the bound
(``WOKEN_WITHIN_S``) is generous enough for a loaded machine.
"""

from __future__ import annotations

import os
import select
import threading
import time

import pytest

from edge_server.engines.transcribe.body import RUNTIME_SPIN_LIMIT, WaitingBody

LONG_WAIT_S = 60.0
"""A timed wait this long cannot end during a test: a read that returns sooner was woken."""
WOKEN_WITHIN_S = 5.0
"""Bound on a wake-up: far below ``LONG_WAIT_S`` (so it proves the wake-up), far above the
milliseconds a wake-up takes even on a loaded machine (so it does not flake)."""


class Runtime:
    """Calls ``read`` like the C runtime: again at once after each answer."""

    def __init__(self, body: WaitingBody) -> None:
        self.body = body
        self.got: list[tuple[bytes, float]] = []
        self.eof_at: float | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                data = self.body.read(16384)
            except BlockingIOError:
                continue
            if not data:
                self.eof_at = time.monotonic()
                return
            self.got.append((data, time.monotonic()))

    def join(self) -> None:
        self.thread.join(timeout=5)
        assert not self.thread.is_alive()


def test_reads_are_rare_while_idle_and_audio_wakes_them_at_once():
    body = WaitingBody(wait_s=0.02)
    runtime = Runtime(body)
    time.sleep(0.5)
    idle_reads = body.reads
    assert 10 <= idle_reads <= 40  # about 25 in 0.5 s: a poll every 20 ms, not a busy loop
    body.end_stream()
    runtime.join()
    body.close()
    # Audio wakes a waiting read: with a poll interval of a minute, every write is taken long
    # before the next poll could have taken it.
    body = WaitingBody(wait_s=LONG_WAIT_S)
    runtime = Runtime(body)
    delays = []
    for index in range(5):
        written = time.monotonic()
        body.write(bytes([index]) * 100)
        deadline = time.monotonic() + WOKEN_WITHIN_S
        while len(runtime.got) <= index and time.monotonic() < deadline:
            time.sleep(0.001)
        delays.append(runtime.got[index][1] - written)
        time.sleep(0.013)
    assert max(delays) < WOKEN_WITHIN_S  # audio does not wait for the poll interval
    assert [data[:1] for data, _ in runtime.got] == [bytes([i]) for i in range(5)]
    ended = time.monotonic()
    body.end_stream()
    runtime.join()
    assert runtime.eof_at is not None
    assert runtime.eof_at - ended < WOKEN_WITHIN_S  # the end wakes the read too
    body.close()


def test_read_respects_size_and_order():
    body = WaitingBody()
    body.write(b"abcdef")
    body.write(b"gh")
    assert body.read(4) == b"abcd"
    assert body.read(10) == b"ef"
    assert body.read() == b"gh"
    with pytest.raises(BlockingIOError):
        body.read()
    buffer = bytearray(3)
    body.write(b"xyz!")
    assert body.readinto(buffer) == 3
    assert bytes(buffer) == b"xyz"
    body.end_stream()
    assert body.read() == b"!"
    assert body.read() == b""
    with pytest.raises(OSError, match="already complete"):
        body.write(b"late")
    body.close()


def test_close_wakes_a_waiting_read_and_discards():
    body = WaitingBody(wait_s=LONG_WAIT_S, max_wait_s=LONG_WAIT_S)
    body.write(b"dropped")
    assert body.read() == b"dropped"
    runtime = Runtime(body)
    time.sleep(0.02)
    closed = time.monotonic()
    body.close()
    runtime.join()
    assert runtime.eof_at is not None
    assert runtime.eof_at - closed < WOKEN_WITHIN_S  # woken by close, not by its timed wait
    assert body.closed


def test_pending_age_tracks_audio_nobody_takes():
    body = WaitingBody()
    assert body.pending_age() == 0.0
    body.write(b"x")
    time.sleep(0.05)
    assert body.pending_age() >= 0.05
    body.read()
    assert body.pending_age() == 0.0
    body.close()


def _epoll_with_pipe():
    epoll = select.epoll()
    r, w = os.pipe()
    os.set_blocking(r, False)
    epoll.register(r, select.EPOLLIN | select.EPOLLET)
    return epoll, r, w


def test_runtime_events_end_a_long_wait_at_once():
    epoll, r, w = _epoll_with_pipe()
    body = WaitingBody(wait_s=0.01, runtime_fd=epoll.fileno(), max_wait_s=LONG_WAIT_S)
    wakes: list[float] = []

    def runtime() -> None:
        # The runtime's loop: take its events (edge-triggered), then read the body again.
        while True:
            for _fd, _mask in epoll.poll(0):
                wakes.append(time.monotonic())
                while True:
                    try:
                        os.read(r, 100)
                    except BlockingIOError:
                        break
            try:
                if body.read() == b"":
                    return
            except BlockingIOError:
                continue

    thread = threading.Thread(target=runtime, daemon=True)
    thread.start()
    time.sleep(0.3)
    assert body.reads <= 3  # sleeps up to max_wait_s while nothing happens
    sent = time.monotonic()
    os.write(w, b"response bytes")
    deadline = time.monotonic() + WOKEN_WITHIN_S
    while not wakes and time.monotonic() < deadline:
        time.sleep(0.001)
    assert wakes
    assert wakes[0] - sent < WOKEN_WITHIN_S  # woken by the runtime's event, not by max_wait_s
    reads = body.reads
    time.sleep(0.2)
    assert body.reads - reads <= 2  # quiet again once the edge was taken
    body.end_stream()
    thread.join(timeout=5)
    assert body.runtime_wakes >= 1
    body.close()
    epoll.close()
    os.close(r)
    os.close(w)


def test_a_runtime_descriptor_that_stays_ready_falls_back_to_timed_waits():
    r, w = os.pipe()
    os.write(w, b"level-triggered and never drained")
    body = WaitingBody(wait_s=0.005, runtime_fd=r, max_wait_s=1.0)
    # RUNTIME_SPIN_LIMIT instant wake-ups in a row make it stop listening to the descriptor; a
    # busy machine can make one of them look slow (and start the count again), so read until
    # the descriptor no longer wakes it rather than a fixed number of times.
    for _ in range(20 * RUNTIME_SPIN_LIMIT):
        wakes = body.runtime_wakes
        with pytest.raises(BlockingIOError):
            body.read()
        if body.runtime_wakes == wakes:
            break
    else:
        pytest.fail(f"still woken by the descriptor after {20 * RUNTIME_SPIN_LIMIT} reads")
    assert body.runtime_wakes >= RUNTIME_SPIN_LIMIT
    started = time.monotonic()
    for _ in range(5):
        with pytest.raises(BlockingIOError):
            body.read()
    assert time.monotonic() - started >= 0.02  # timed waits now, not instant returns
    body.close()
    os.close(r)
    os.close(w)

"""The HTTP/2 request body of a Transcribe stream, without the SDK's busy loop.

The AWS C runtime reads a streaming request body on its event-loop thread, over and over. The
SDK's body (``BufferableByteStream``) raises ``BlockingIOError`` at once when no audio is
buffered, and the runtime asks again immediately: one CPU core at 100 % per stream while audio
trickles in at real time (upstream amazon-transcribe-streaming-sdk issues #25 and #84).

:class:`WaitingBody` makes that read *sleep until there is something to do*:

- audio written by the asyncio side wakes it at once (a self-pipe), so audio is not delayed;
- when the runtime's own epoll descriptor is known (``runtime_fd``: Linux, found when the
  recognizer creates its private event loop, see :mod:`.client`), the read also wakes
  as soon as that descriptor is ready: data from the service arrived, or another thread handed
  the runtime a task. It then answers "nothing yet", the runtime goes back to its loop and
  handles the event, so transcript events are not delayed either. The runtime registers every
  descriptor edge-triggered, so once its loop has taken the events the descriptor is quiet and
  the next read sleeps again (a guard falls back to timed waits if it ever were not);
- a read never sleeps longer than ``max_wait_s`` (the runtime's timers still run), or
  ``wait_s`` when the runtime's descriptor is unknown (then incoming events wait at most that).

Why this is safe: the wait happens in ``poll()`` with the GIL released; only this stream's
runtime thread waits (each recognizer has its own one-thread event loop); ``end_stream`` and
``close`` wake a waiting read so a stream ends without delay; descriptors are closed by the
last side to leave, never under a waiting ``poll()``.

It also records how long written audio has waited to be taken, so a connection that stopped
accepting audio (the network is gone and flow control closed the window) can be detected.
"""

from __future__ import annotations

import contextlib
import io
import os
import select
import threading
import time
from collections import deque
from typing import Any

RUNTIME_SPIN_LIMIT = 50
"""Consecutive instant wake-ups by the runtime descriptor before falling back to timed waits."""


class WaitingBody(io.BufferedIOBase):
    """A thread-safe, append-only request body whose read sleeps until there is work."""

    def __init__(
        self, wait_s: float = 0.01, runtime_fd: int | None = None, max_wait_s: float = 0.1
    ) -> None:
        super().__init__()
        self.wait_s = wait_s
        self.max_wait_s = max_wait_s
        self.runtime_fd = runtime_fd
        self._mutex = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._poller = select.poll()
        self._poller.register(self._wake_r, select.POLLIN)
        if runtime_fd is not None:
            self._poller.register(runtime_fd, select.POLLIN)
        self._signalled = False
        self._reading = False
        self._fds_open = True
        self._spins = 0
        self._chunks: deque[bytes] = deque()
        self._ended = False
        self._closed = False
        self._pending_since: float | None = None
        self.reads = 0
        """How many times the runtime asked for data (for tests and the benchmark)."""
        self.runtime_wakes = 0
        """Reads cut short because the runtime had events to handle."""
        self.response: Any = None
        """The SDK's HTTP response object of this body's request, once it is made."""

    # --- shared helpers (called with the mutex held) ----------------------------------------

    def _signal(self) -> None:
        if not self._signalled and self._fds_open:
            self._signalled = True
            with contextlib.suppress(BlockingIOError):
                os.write(self._wake_w, b"!")

    def _close_fds(self) -> None:
        if self._fds_open and not self._reading:
            self._fds_open = False
            os.close(self._wake_r)
            os.close(self._wake_w)

    # --- the writer side (asyncio thread) ---------------------------------------------------

    def write(self, b: Any) -> int:
        """Append bytes (the SDK writes whole signed event-stream messages)."""
        data = bytes(b)
        with self._mutex:
            if self._ended or self._closed:
                raise OSError("the request body is already complete")
            if data:
                if not self._chunks:
                    self._pending_since = time.monotonic()
                self._chunks.append(data)
                self._signal()
        return len(data)

    def end_stream(self) -> None:
        """No more data: reads return what is left, then end of file."""
        with self._mutex:
            self._ended = True
            self._signal()

    def close(self) -> None:
        """Discard what is buffered and end the body now."""
        with self._mutex:
            self._closed = True
            self._ended = True
            self._chunks.clear()
            self._pending_since = None
            self._signal()
            self._close_fds()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def pending_age(self, now: float | None = None) -> float:
        """Seconds the oldest unread data has waited (0 when nothing is waiting)."""
        since = self._pending_since
        if since is None:
            return 0.0
        return (time.monotonic() if now is None else now) - since

    # --- the reader side (the C runtime's thread) -------------------------------------------

    def readable(self) -> bool:
        """It is a readable stream."""
        return True

    def _take(self, size: int | None) -> bytes | None:
        if self._chunks:
            chunk = self._chunks.popleft()
            if size is not None and 0 <= size < len(chunk):
                self._chunks.appendleft(chunk[size:])
                chunk = chunk[:size]
            self._pending_since = time.monotonic() if self._chunks else None
            return chunk
        if self._ended:
            return b""
        return None

    def _wait(self) -> None:
        use_runtime = self.runtime_fd is not None and self._spins < RUNTIME_SPIN_LIMIT
        timeout = self.max_wait_s if use_runtime else self.wait_s
        started = time.monotonic()
        events = self._poller.poll(int(timeout * 1000))
        runtime_ready = any(fd == self.runtime_fd for fd, _ in events)
        if runtime_ready and use_runtime:
            self.runtime_wakes += 1
            quick = time.monotonic() - started < 0.001
            self._spins = self._spins + 1 if quick else 0
            if self._spins == RUNTIME_SPIN_LIMIT and self.runtime_fd is not None:
                self._poller.unregister(self.runtime_fd)

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes; sleeps until audio, a runtime event or the time limit."""
        with self._mutex:
            self.reads += 1
            data = self._take(size)
            if data is not None:
                return data
            self._reading = True
        try:
            self._wait()
        finally:
            with self._mutex:
                self._reading = False
                if self._signalled:
                    self._signalled = False
                    with contextlib.suppress(OSError):
                        os.read(self._wake_r, 64)
                if self._closed:
                    self._close_fds()
                data = self._take(size)
        if data is not None:
            return data
        raise BlockingIOError("no audio yet")

    def read1(self, size: int = -1) -> bytes:
        """Same as :meth:`read`."""
        return self.read(size)

    def readinto(self, buffer: Any) -> int:
        """Read into a writable buffer (what the runtime calls)."""
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def readinto1(self, buffer: Any) -> int:
        """Same as :meth:`readinto`."""
        return self.readinto(buffer)

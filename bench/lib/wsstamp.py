"""A receive-only WebSocket subscriber stamped by the kernel (``SO_TIMESTAMPNS``).

With hundreds of subscribers in one load-generator process, the time our Python code reads a
socket includes the time spent reading all the others first: that is the load generator's
cost, not the server's. The kernel stamps each packet when it reaches the subscriber's socket
(on loopback: the moment the server's write delivered it), which is what "reaching a
subscriber" means. Stamps are ``CLOCK_REALTIME`` (the only clock the option offers), so the
send side stamps with ``time.time()`` too.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
import time
from collections.abc import Callable

from bench.lib.wsraw import CLOSE, PING, PONG, TEXT, encode_frame

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SCM_TIMESTAMPNS = SO_TIMESTAMPNS
OnStamped = Callable[[bytes, float, float], None]
"""``(text payload, kernel arrival time (realtime), read time (realtime))``."""


class StampedSubscriber:
    """A subscriber socket read with ``recvmsg`` from the event loop's reader callback."""

    def __init__(self, sock: socket.socket, on_text: OnStamped) -> None:
        self.sock = sock
        self.on_text = on_text
        self._buffer = bytearray()
        self._open = False
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed = False
        self._stamp = 0.0

    def _readable(self) -> None:
        try:
            data, ancillary, _, _ = self.sock.recvmsg(262144, socket.CMSG_SPACE(16))
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data, ancillary = b"", []
        if not data:
            self.close()
            return
        now = time.time()
        stamp = now
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPNS and len(value) >= 16:
                sec, nsec = struct.unpack("qq", value[:16])
                stamp = sec + nsec / 1e9
        self._buffer += data
        if not self._open:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in bytes(self._buffer[: self._buffer.find(b"\r\n") + 1]):
                self.opened.set_exception(ConnectionError(bytes(self._buffer[:80]).decode()))
                self.close()
                return
            del self._buffer[: end + 4]
            self._open = True
            self.opened.set_result(None)
        self._parse(stamp, now)

    def _parse(self, stamp: float, now: float) -> None:
        buf = self._buffer
        pos = 0
        while len(buf) - pos >= 2:
            opcode, n, head = buf[pos] & 0x0F, buf[pos + 1] & 0x7F, 2
            if n == 126:
                if len(buf) - pos < 4:
                    break
                (n,), head = struct.unpack_from("!H", buf, pos + 2), 4
            elif n == 127:
                if len(buf) - pos < 10:
                    break
                (n,), head = struct.unpack_from("!Q", buf, pos + 2), 10
            if len(buf) - pos < head + n:
                break
            payload = bytes(buf[pos + head : pos + head + n])
            pos += head + n
            if opcode == TEXT:
                self.on_text(payload, stamp, now)
            elif opcode == PING:
                self._send(encode_frame(PONG, payload))
            elif opcode == CLOSE:
                self.close()
                return
        del buf[:pos]

    def _send(self, data: bytes) -> None:
        try:
            self.sock.send(data)  # small control frames; the send buffer is empty
        except OSError:
            self.close()

    def close(self) -> None:
        """Stop reading and close the socket."""
        if self.closed:
            return
        self.closed = True
        asyncio.get_running_loop().remove_reader(self.sock.fileno())
        self.sock.close()
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed before the handshake"))


async def connect_stamped(
    host: str, port: int, path: str, on_text: OnStamped, wait_s: float = 30.0
) -> StampedSubscriber:
    """Open a kernel-stamped subscriber on ``ws://host:port/path``."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.setblocking(False)
    try:
        await asyncio.wait_for(loop.sock_connect(sock, (host, port)), wait_s)
    except BaseException:
        sock.close()
        raise
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    sock.send(request.encode())
    sub = StampedSubscriber(sock, on_text)
    loop.add_reader(sock.fileno(), sub._readable)
    await asyncio.wait_for(asyncio.shield(sub.opened), wait_s)
    return sub

"""A minimal WebSocket client on an asyncio protocol, for load generation.

Hundreds of subscribers in one process must cost the load generator as little as possible so
that the figures are the server's: frames are parsed straight from ``data_received`` and stamped
with one ``time.monotonic()`` per read. Client frames are masked with the all-zero key (valid
per RFC 6455 and free to apply). Pings are answered; fragmented messages are not needed here.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
import time
from collections.abc import Callable

TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA
OnMessage = Callable[[int, bytes, float], None]
"""``(opcode, payload, monotonic time it was read)``."""


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """A masked (zero key), unfragmented client frame."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + b"\0\0\0\0" + payload


class RawWebSocket(asyncio.Protocol):
    """One client connection; ``on_message`` sees every text and binary message."""

    def __init__(self, request: bytes, on_message: OnMessage) -> None:
        self._request = request
        self.on_message = on_message
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._buffer = bytearray()
        self._open = False
        self.close_code: int | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self._request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"closed before the handshake: {exc}"))
        if not self.closed.done():
            self.closed.set_result(self.close_code if self.close_code is not None else 1006)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self._buffer += data
        if not self._open:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self._buffer[: self._buffer.find(b"\r\n")])
            if b" 101 " not in status + b" ":
                self.opened.set_exception(ConnectionError(status.decode(errors="replace")))
                assert self.transport is not None
                self.transport.close()
                return
            del self._buffer[: end + 4]
            self._open = True
            self.opened.set_result(None)
        self._parse(now)

    def _parse(self, now: float) -> None:
        buf = self._buffer
        pos = 0
        while len(buf) - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            n = b1 & 0x7F
            head = 2
            if n == 126:
                if len(buf) - pos < 4:
                    break
                (n,) = struct.unpack_from("!H", buf, pos + 2)
                head = 4
            elif n == 127:
                if len(buf) - pos < 10:
                    break
                (n,) = struct.unpack_from("!Q", buf, pos + 2)
                head = 10
            if len(buf) - pos < head + n:
                break
            payload = bytes(buf[pos + head : pos + head + n])
            pos += head + n
            self._frame(b0 & 0x0F, payload, now)
        del buf[:pos]

    def _frame(self, opcode: int, payload: bytes, now: float) -> None:
        if opcode in (TEXT, BINARY):
            self.on_message(opcode, payload, now)
        elif opcode == PING:
            self.send(PONG, payload)
        elif opcode == CLOSE:
            self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            self.send(CLOSE, payload[:2])
            assert self.transport is not None
            self.transport.close()

    def send(self, opcode: int, payload: bytes) -> None:
        """Queue one frame (no-op once the connection is gone)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(encode_frame(opcode, payload))

    def send_text(self, text: str) -> None:
        """Send a text message."""
        self.send(TEXT, text.encode())

    def close(self) -> None:
        """Send a normal close and drop the connection."""
        self.send(CLOSE, struct.pack("!H", 1000))
        if self.transport is not None:
            self.transport.close()


async def connect(
    host: str,
    port: int,
    path: str,
    on_message: OnMessage,
    *,
    rcvbuf: int | None = None,
    maxseg: int | None = None,
    wait_s: float = 30.0,
) -> RawWebSocket:
    """Open ``ws://host:port/path``; ``rcvbuf`` shrinks the socket's receive buffer and
    ``maxseg`` its TCP segment size (loopback's 64 KiB segments let the server's send buffer
    grow to megabytes; 1400 is what a phone on Wi-Fi negotiates)."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if maxseg is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, maxseg)
    sock.setblocking(False)
    try:
        await asyncio.wait_for(loop.sock_connect(sock, (host, port)), wait_s)
        _, proto = await loop.create_connection(
            lambda: RawWebSocket(request, on_message), sock=sock
        )
    except BaseException:
        sock.close()
        raise
    await asyncio.wait_for(asyncio.shield(proto.opened), wait_s)
    return proto

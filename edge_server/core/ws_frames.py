"""WebSocket frames a server sends (RFC 6455 section 5.2), built once per message. Pure.

Fan-out builds the frame of a caption once and writes the same bytes to every subscriber that
has nothing pending, instead of re-encoding the text for each. Server frames are never masked;
these sockets never use permessage-deflate, so the frame is exactly header + payload.
"""

from __future__ import annotations

import struct

TEXT = 0x1
BINARY = 0x2


def server_frame(opcode: int, payload: bytes) -> bytes:
    """One final (FIN), unmasked frame of ``opcode`` carrying ``payload``."""
    if opcode not in (TEXT, BINARY):
        raise ValueError(f"not a data opcode: {opcode}")
    n = len(payload)
    first = 0x80 | opcode
    if n < 126:
        head = struct.pack("!BB", first, n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", first, 126, n)
    else:
        head = struct.pack("!BBQ", first, 127, n)
    return head + payload


def frame_of(item: str | bytes) -> bytes:
    """The frame of a message: text as UTF-8 in a text frame, bytes in a binary frame."""
    if isinstance(item, str):
        return server_frame(TEXT, item.encode())
    return server_frame(BINARY, item)

"""The prebuilt server frames of fan-out, checked against the RFC and a real parser."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from edge_server.core.ws_frames import BINARY, TEXT, frame_of, server_frame


@pytest.mark.parametrize(
    ("opcode", "size", "header"),
    [
        (TEXT, 0, b"\x81\x00"),
        (TEXT, 125, b"\x81\x7d"),
        (TEXT, 126, b"\x81\x7e\x00\x7e"),
        (BINARY, 65535, b"\x82\x7e\xff\xff"),
        (BINARY, 65536, b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
    ],
)
def test_header_lengths(opcode: int, size: int, header: bytes) -> None:
    frame = server_frame(opcode, b"x" * size)
    assert frame[: len(header)] == header
    assert len(frame) == len(header) + size


@pytest.mark.parametrize("item", ["", "caption è ✓", "x" * 70000, b"\x01\x00" * 8000])
def test_a_real_client_parser_reads_them(item: str | bytes) -> None:
    frame = frame_of(item)
    chunks = [frame]

    def read_exact(n: int):  # type: ignore[no-untyped-def]
        data = chunks[0][:n]
        chunks[0] = chunks[0][n:]
        yield from ()
        return data

    parser = Frame.parse(read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        parsed = done.value
    assert parsed.fin
    assert parsed.opcode == (Opcode.TEXT if isinstance(item, str) else Opcode.BINARY)
    assert parsed.data == (item.encode() if isinstance(item, str) else item)
    assert chunks[0] == b""


def test_only_data_opcodes() -> None:
    with pytest.raises(ValueError, match="data opcode"):
        server_frame(0x9, b"")

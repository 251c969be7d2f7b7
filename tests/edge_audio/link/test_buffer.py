"""The bounded frame buffer (pure): FIFO, oldest dropped first, memory bounded, gaps counted."""

from __future__ import annotations

import pytest

from edge_audio.link.buffer import FrameBuffer


def frames(*sizes: int) -> list[bytes]:
    return [bytes([i]) * size for i, size in enumerate(sizes)]


@pytest.mark.parametrize(
    ("max_bytes", "pushed", "kept", "dropped"),
    [
        (100, frames(40, 40), [0, 1], 0),
        (100, frames(40, 40, 20), [0, 1, 2], 0),
        (100, frames(40, 40, 40), [1, 2], 40),
        (100, frames(40, 40, 40, 40, 40), [3, 4], 120),
        (100, frames(90, 20), [1], 90),
        (100, frames(100), [0], 0),
    ],
)
def test_oldest_dropped_first(
    max_bytes: int, pushed: list[bytes], kept: list[int], dropped: int
) -> None:
    buf = FrameBuffer(max_bytes)
    for frame in pushed:
        buf.push(frame)
        assert buf.held_bytes <= max_bytes
    out = []
    while (frame := buf.pop()) is not None:
        out.append(frame[0])
    assert out == kept
    assert buf.dropped_bytes == dropped
    assert buf.pushed_bytes == sum(len(f) for f in pushed)
    assert buf.peak_bytes <= max_bytes
    assert buf.held_bytes == 0
    assert len(buf) == 0


def test_a_frame_larger_than_the_buffer_keeps_its_newest_whole_samples() -> None:
    buf = FrameBuffer(10)
    assert buf.push(bytes(range(15))) == 6  # 5 too many, rounded up to whole samples
    assert buf.pop() == bytes(range(6, 15))
    buf = FrameBuffer(10)
    buf.push(bytes(range(16)))
    assert buf.pop() == bytes(range(6, 16))
    assert buf.dropped_bytes == 6


def test_memory_stays_bounded_over_a_long_outage() -> None:
    buf = FrameBuffer(64000)  # 2 s
    for _ in range(3000):  # 5 minutes of 100 ms frames
        buf.push(b"\0" * 3200)
    assert buf.peak_bytes == 64000
    assert buf.held_bytes == 64000
    assert buf.seconds == pytest.approx(2.0)
    assert buf.take_dropped_seconds() == pytest.approx(298.0)
    assert buf.take_dropped_seconds() == 0.0


def test_clear_is_not_a_drop() -> None:
    buf = FrameBuffer(100)
    buf.push(b"\0" * 50)
    buf.clear()
    assert (buf.held_bytes, buf.dropped_bytes, buf.pop()) == (0, 0, None)


def test_invalid_buffer() -> None:
    with pytest.raises(ValueError, match="positive"):
        FrameBuffer(0)


@pytest.mark.parametrize(
    ("max_bytes", "sizes", "positions"),
    [
        # Position = samples pushed before the frame, whether or not they were dropped.
        (100, [40, 40], [0, 20]),
        (100, [40, 40, 40], [20, 40]),
        (100, [40, 40, 40, 40, 40], [60, 80]),
        # A frame larger than the buffer keeps its newest part, at that part's position.
        (10, [8, 16], [7]),
    ],
)
def test_each_frame_keeps_its_position_in_the_stream(
    max_bytes: int, sizes: list[int], positions: list[int]
) -> None:
    buf = FrameBuffer(max_bytes)
    for size in sizes:
        buf.push(b"\0" * size)
    out = []
    while (item := buf.pop_positioned()) is not None:
        out.append(item[0])
    assert out == positions
    assert buf.next_position == sum(sizes) // 2

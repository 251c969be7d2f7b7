"""FrameAssembler and frame_bytes_for_ms."""

from __future__ import annotations

import random

import pytest

from edge_audio.pcm.framing import FrameAssembler, frame_bytes_for_ms


@pytest.mark.parametrize(("ms", "expected"), [(20, 640), (40, 1280), (100, 3200), (64, 2048)])
def test_frame_bytes_for_ms(ms, expected):
    assert frame_bytes_for_ms(ms) == expected


@pytest.mark.parametrize("ms", [0, 19, 101, 200, -20, True, 20.5, "20"])
def test_frame_bytes_for_ms_refuses_out_of_range(ms):
    with pytest.raises(ValueError, match="20-100 ms"):
        frame_bytes_for_ms(ms)


def run(frame_bytes: int, chunks: list[bytes]) -> tuple[list[bytes], bytes | None]:
    asm = FrameAssembler(frame_bytes)
    frames = [frame for chunk in chunks for frame in asm.push(chunk)]
    return frames, asm.flush()


def pattern(n: int, offset: int = 0) -> bytes:
    return bytes((i + offset) % 251 for i in range(n))


@pytest.mark.parametrize(
    ("frame_bytes", "sizes", "full_frames", "tail"),
    [
        (640, [640], 1, None),
        (640, [641, 1], 1, 2),
        (640, [100] * 13, 2, 20),
        (640, [0, 0, 0], 0, None),
        (640, [3], 0, 2),
        (3200, [10000], 3, 400),
        (4, [1, 1, 1, 1, 1, 1, 1, 1], 2, None),
        (640, [1279, 1], 2, None),
        (2, [1, 2, 3], 3, None),
    ],
)
def test_frames_are_exact(frame_bytes, sizes, full_frames, tail):
    chunks, offset = [], 0
    for size in sizes:
        chunks.append(pattern(size, offset))
        offset += size
    frames, last = run(frame_bytes, chunks)
    assert [len(f) for f in frames] == [frame_bytes] * full_frames
    assert (None if last is None else len(last)) == tail


@pytest.mark.parametrize("seed", range(8))
def test_random_chunks_are_lossless(seed):
    rng = random.Random(seed)
    frame_bytes = rng.choice([640, 1280, 3200])
    data = pattern(rng.randrange(0, 40000) * 2)
    chunks, pos = [], 0
    while pos < len(data):
        size = rng.choice([0, 1, 2, 3, 511, 640, 4097, 9000])
        chunks.append(data[pos : pos + size])
        pos += size
    frames, last = run(frame_bytes, chunks)
    everything = [*frames, *([last] if last is not None else [])]
    assert b"".join(everything) == data
    assert all(len(f) == frame_bytes for f in frames)
    assert all(0 < len(f) <= frame_bytes and len(f) % 2 == 0 for f in everything)


def test_odd_trailing_byte_is_dropped_and_flush_empties():
    asm = FrameAssembler(640)
    assert asm.push(b"\x01\x02\x03") == []
    assert asm.pending == 3
    assert asm.flush() == b"\x01\x02"
    assert asm.pending == 0
    assert asm.flush() is None


def test_a_lone_half_sample_gives_no_frame():
    asm = FrameAssembler(640)
    asm.push(b"\x01")
    assert asm.flush() is None


@pytest.mark.parametrize("frame_bytes", [0, -2, 3, 641])
def test_invalid_frame_size(frame_bytes):
    with pytest.raises(ValueError, match="multiple of 2"):
        FrameAssembler(frame_bytes)

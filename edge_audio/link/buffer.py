"""The bounded audio buffer between capture and the uplink.

Pure: frames in, frames out, no I/O. Capture pushes every frame; the uplink takes them as fast
as the server accepts. While the server is away the buffer fills up to ``max_bytes`` and then
drops its oldest frames: memory stays bounded, and the newest audio (what the room hears now) is
kept. What was dropped is counted so the uplink can report the gap.

Every frame has its position: the index of its first sample in the node's stream, counting
every sample ever pushed (dropped ones included), so the server can tell audio it already has
from new audio and from a gap (see :mod:`edge_audio.link.history`).
"""

from __future__ import annotations

from collections import deque

from edge_server.contract.audio_format import BYTES_PER_SAMPLE, BYTES_PER_SECOND

Positioned = tuple[int, bytes]
"""``(position, frame)``: a frame and the sample index of its first sample in the stream."""


class FrameBuffer:
    """A FIFO of audio frames holding at most ``max_bytes`` bytes of audio."""

    def __init__(self, max_bytes: int) -> None:
        """Raises ValueError unless ``max_bytes`` is positive."""
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, not {max_bytes}")
        self.max_bytes = max_bytes
        self._frames: deque[Positioned] = deque()
        self._bytes = 0
        self.peak_bytes = 0
        """The most audio ever held at once (never above ``max_bytes``)."""
        self.pushed_bytes = 0
        """All audio ever pushed."""
        self.dropped_bytes = 0
        """All audio ever dropped to make room."""
        self._unreported = 0
        self.next_position = 0
        """The stream position of the next frame pushed (samples)."""

    def __len__(self) -> int:
        """Frames held."""
        return len(self._frames)

    @property
    def held_bytes(self) -> int:
        """Audio bytes held."""
        return self._bytes

    @property
    def seconds(self) -> float:
        """Audio held, in seconds of 16 kHz mono s16le."""
        return self._bytes / BYTES_PER_SECOND

    def push(self, frame: bytes) -> int:
        """Append ``frame``, dropping the oldest frames if it would not fit; return the bytes
        dropped. A frame larger than the whole buffer keeps only its newest part."""
        position = self.next_position
        self.next_position += len(frame) // BYTES_PER_SAMPLE
        if len(frame) > self.max_bytes:
            cut = len(frame) - self.max_bytes
            cut += cut % 2  # whole 16-bit samples
            frame = frame[cut:]
            position += cut // BYTES_PER_SAMPLE
            dropped = cut
        else:
            dropped = 0
        self.pushed_bytes += len(frame) + dropped
        while self._frames and self._bytes + len(frame) > self.max_bytes:
            _, old = self._frames.popleft()
            self._bytes -= len(old)
            dropped += len(old)
        if frame:
            self._frames.append((position, frame))
            self._bytes += len(frame)
        self.peak_bytes = max(self.peak_bytes, self._bytes)
        self.dropped_bytes += dropped
        self._unreported += dropped
        return dropped

    def pop(self) -> bytes | None:
        """The oldest frame, or None when empty."""
        item = self.pop_positioned()
        return None if item is None else item[1]

    def pop_positioned(self) -> Positioned | None:
        """The oldest frame with its position, or None when empty."""
        if not self._frames:
            return None
        position, frame = self._frames.popleft()
        self._bytes -= len(frame)
        return position, frame

    def take_dropped_seconds(self) -> float:
        """Seconds of audio dropped since the last call (for the ``gap`` message)."""
        seconds = self._unreported / BYTES_PER_SECOND
        self._unreported = 0
        return seconds

    def clear(self) -> None:
        """Forget every frame held (not counted as dropped)."""
        self._frames.clear()
        self._bytes = 0

"""Cutting a stream of 16 kHz mono s16le bytes into the uplink's fixed-size audio frames.

Pure: bytes in, frames out, no I/O.
"""

from __future__ import annotations

from edge_server.contract.audio_format import BYTES_PER_SAMPLE, BYTES_PER_SECOND

MIN_FRAME_MS = 20
MAX_FRAME_MS = 100
DEFAULT_FRAME_MS = 100


def frame_bytes_for_ms(ms: int) -> int:
    """Bytes in a frame of ``ms`` milliseconds of 16 kHz mono s16le (e.g. 100 ms -> 3200).

    Raises ValueError unless ``ms`` is an integer from 20 to 100.
    """
    if isinstance(ms, bool) or not isinstance(ms, int) or not MIN_FRAME_MS <= ms <= MAX_FRAME_MS:
        raise ValueError(f"frame duration must be {MIN_FRAME_MS}-{MAX_FRAME_MS} ms, not {ms!r}")
    return ms * BYTES_PER_SECOND // 1000


class FrameAssembler:
    """Collects byte chunks of any size and hands out exact frames of ``frame_bytes``.

    Nothing is lost or reordered: the frames from :meth:`push` followed by :meth:`flush`
    concatenate to the input (less a dangling half sample, if the input had an odd length).
    """

    def __init__(self, frame_bytes: int) -> None:
        """Raises ValueError unless ``frame_bytes`` is a positive whole number of samples."""
        if frame_bytes <= 0 or frame_bytes % BYTES_PER_SAMPLE:
            raise ValueError(
                f"frame size must be a positive multiple of {BYTES_PER_SAMPLE} bytes, "
                f"not {frame_bytes}"
            )
        self.frame_bytes = frame_bytes
        self._pending = bytearray()

    @property
    def pending(self) -> int:
        """Bytes received but not yet handed out in a frame."""
        return len(self._pending)

    def push(self, data: bytes) -> list[bytes]:
        """Add ``data`` and return every complete frame now available (possibly none)."""
        self._pending += data
        size = self.frame_bytes
        count = len(self._pending) // size
        if count == 0:
            return []
        frames = [bytes(self._pending[i * size : (i + 1) * size]) for i in range(count)]
        del self._pending[: count * size]
        return frames

    def flush(self) -> bytes | None:
        """Return the last, shorter frame (whole samples only), or None if nothing is left.

        A trailing odd byte (half a sample) is discarded; the assembler is empty afterwards.
        """
        usable = len(self._pending) - len(self._pending) % BYTES_PER_SAMPLE
        frame = bytes(self._pending[:usable])
        self._pending.clear()
        return frame or None

"""Pacing: how long to wait before sending more audio, to stream at a multiple of real time.

Pure: the caller supplies the clock readings.
"""

from __future__ import annotations

import math


class Pacer:
    """Keeps the audio sent at most ``speed`` times ahead of the wall clock.

    ``speed`` 1.0 is real time, 2.0 twice as fast, 0 means no pacing at all (as fast as the
    peer accepts). Because it compares totals rather than frame by frame, a late wake-up is made
    up by the next frames instead of accumulating as drift.
    """

    def __init__(self, speed: float = 1.0) -> None:
        """Raises ValueError unless ``speed`` is a finite number >= 0."""
        if not math.isfinite(speed) or speed < 0:
            raise ValueError(f"speed must be a finite number >= 0, not {speed!r}")
        self.speed = speed

    def delay(self, audio_seconds: float, elapsed: float) -> float:
        """Seconds to sleep now, given ``audio_seconds`` of audio sent so far and ``elapsed``
        seconds (monotonic) since the first frame was sent; never negative."""
        if self.speed == 0:
            return 0.0
        return max(0.0, audio_seconds / self.speed - elapsed)

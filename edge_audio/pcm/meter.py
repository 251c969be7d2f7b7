"""Signal health: RMS and peak level, clipping, and the "no signal" alarm of a muted mixer.

Pure (numpy only). Fed the captured float32 blocks (full scale = 1.0), it reports once per
window of audio (about a second). Levels are dBFS with a sine at full scale reading -3 dB RMS,
0 dB peak; digital silence reads :data:`FLOOR_DBFS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FLOOR_DBFS = -120.0
"""The level reported for digital silence (and for no audio at all)."""
CLIP_LEVEL = 0.999
"""A sample at or above this magnitude is at full scale (32767/32768 = 0.99997 for 16 bits)."""
CLIP_MIN_SAMPLES = 3
"""Samples at full scale within one window that count as clipping (one may be a fair peak)."""


def dbfs(value: float) -> float:
    """``20 * log10(value)``, never below :data:`FLOOR_DBFS`."""
    if not value > 0 or not math.isfinite(value):
        return FLOOR_DBFS
    return max(FLOOR_DBFS, 20.0 * math.log10(value))


@dataclass(frozen=True)
class LevelReport:
    """One window's signal health: the ``level`` message of docs/protocol.md."""

    rms_dbfs: float
    peak_dbfs: float
    clipping: bool
    silent_s: float
    """How long the signal has been below the silence threshold (0 while it is above)."""
    no_signal: bool
    """``silent_s`` reached the alarm time: a muted mixer, a pulled cable, no device."""

    def to_message(self) -> dict[str, Any]:
        """The ``level`` message (levels to 0.1 dB, times to 0.1 s)."""
        return {
            "type": "level",
            "rms_dbfs": round(self.rms_dbfs, 1),
            "peak_dbfs": round(self.peak_dbfs, 1),
            "clipping": self.clipping,
            "silent_s": round(self.silent_s, 1),
            "no_signal": self.no_signal,
        }


class LevelMeter:
    """Measures blocks shaped ``(frames, channels)`` in windows of ``window_s`` of audio.

    RMS is of the mono signal sent (the mean of the columns given); peak and clipping look at
    every column, since a clipped channel is clipped even when mixing hides it.
    """

    def __init__(
        self,
        sample_rate: int,
        silence_dbfs: float = -50.0,
        no_signal_s: float = 30.0,
        window_s: float = 1.0,
    ) -> None:
        """Raises ValueError for a non-positive rate, window or alarm time."""
        if sample_rate <= 0 or window_s <= 0 or no_signal_s <= 0:
            raise ValueError("sample_rate, window_s and no_signal_s must be positive")
        self.sample_rate = sample_rate
        self.silence_dbfs = silence_dbfs
        self.no_signal_s = no_signal_s
        self.window_frames = max(1, round(sample_rate * window_s))
        self.silent_s = 0.0
        self._frames = 0
        self._squares = 0.0
        self._peak = 0.0
        self._clipped = 0

    def add(self, block: npt.ArrayLike) -> list[LevelReport]:
        """Measure one block; return a report for each window it completes (usually none)."""
        data = np.asarray(block, dtype=np.float32)
        if data.ndim == 1:
            data = data.reshape(-1, 1)
        if data.size == 0:
            return []
        channels = data.shape[1]
        mono = data[:, 0] if channels == 1 else data @ np.full(channels, 1 / channels, np.float32)
        self._squares += float(np.dot(mono, mono))
        peak = max(float(np.max(data)), -float(np.min(data)))
        self._peak = max(self._peak, peak)
        if peak >= CLIP_LEVEL:  # rare: count the samples at full scale only then
            self._clipped += int(np.count_nonzero(np.abs(data) >= CLIP_LEVEL))
        self._frames += data.shape[0]
        if self._frames < self.window_frames:
            return []
        return [self._report()]

    def idle(self, seconds: float) -> LevelReport:
        """No audio at all for ``seconds`` (no device): silence for the alarm's purposes."""
        self._reset_window()
        self.silent_s += max(0.0, seconds)
        return LevelReport(
            rms_dbfs=FLOOR_DBFS,
            peak_dbfs=FLOOR_DBFS,
            clipping=False,
            silent_s=self.silent_s,
            no_signal=self.silent_s >= self.no_signal_s,
        )

    def _report(self) -> LevelReport:
        duration = self._frames / self.sample_rate
        rms = dbfs(math.sqrt(self._squares / self._frames))
        peak = dbfs(self._peak)
        clipping = self._clipped >= CLIP_MIN_SAMPLES
        self._reset_window()
        self.silent_s = self.silent_s + duration if rms < self.silence_dbfs else 0.0
        return LevelReport(
            rms_dbfs=rms,
            peak_dbfs=peak,
            clipping=clipping,
            silent_s=self.silent_s,
            no_signal=self.silent_s >= self.no_signal_s,
        )

    def _reset_window(self) -> None:
        self._frames = 0
        self._squares = 0.0
        self._peak = 0.0
        self._clipped = 0

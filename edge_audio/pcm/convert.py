"""Sample conversion: float32 blocks of any rate and channel count to 16 kHz mono s16le.

Pure (numpy and soxr only, no I/O), streaming, and indifferent to block sizes, so the same
:class:`PcmConverter` serves a file read in blocks and a sound card's capture callback.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import soxr

from edge_server.contract.audio_format import SAMPLE_RATE

ChannelSelection: TypeAlias = int | Literal["mix"]
"""``"mix"`` averages all channels; an int picks one channel by 0-based index."""

RESAMPLER_QUALITY = "HQ"
_INT16_SCALE = 32768.0
_INT16_MIN = -32768.0
_INT16_MAX = 32767.0


class PcmConverter:
    """Converts float32 ``(frames, channels)`` blocks to 16 kHz mono signed 16-bit little-endian.

    Channels are selected or mixed first (so only one channel is resampled), then the rate is
    converted with a ``soxr.ResampleStream`` (identity fast path when the input is already
    16 kHz), then samples are scaled by 32768, rounded and clipped: +1.0 and above give 32767,
    -1.0 and below give -32768, NaN gives 0.

    Call :meth:`convert` for each block and :meth:`flush` once at the end of a continuous
    stream; after :meth:`flush` the converter is ready for a new stream.
    """

    def __init__(self, in_rate: int, channels: int, channel: ChannelSelection = "mix") -> None:
        """Prepare a converter for blocks of ``channels`` channels at ``in_rate`` Hz.

        Raises ValueError for a non-positive rate or channel count, or a channel index out of
        range.
        """
        if in_rate <= 0:
            raise ValueError(f"sample rate must be positive, not {in_rate}")
        if channels <= 0:
            raise ValueError(f"channel count must be positive, not {channels}")
        if channel != "mix" and not (isinstance(channel, int) and 0 <= channel < channels):
            raise ValueError(
                f"channel {channel!r} does not exist: the input has {channels} channel(s), "
                f"numbered 0 to {channels - 1} (or use 'mix')"
            )
        self.in_rate = in_rate
        self.channels = channels
        self.channel: ChannelSelection = channel
        self._weights = np.full(channels, 1.0 / channels, dtype=np.float32)
        """Mixing as a matrix-vector product: the mean, some 40 times faster than .mean()."""
        self._resampler: soxr.ResampleStream | None = None
        if in_rate != SAMPLE_RATE:
            self._resampler = soxr.ResampleStream(
                in_rate, SAMPLE_RATE, 1, dtype="float32", quality=RESAMPLER_QUALITY
            )

    def convert(self, block: npt.ArrayLike) -> bytes:
        """Convert one block shaped ``(frames, channels)``; may return fewer bytes (or none)
        while the resampler fills, the rest comes out of later blocks and :meth:`flush`."""
        mono = self._select(block)
        if self._resampler is not None:
            mono = self._resampler.resample_chunk(mono)
        return _to_s16le(mono)

    def flush(self) -> bytes:
        """Drain the resampler at the end of a stream and reset it for the next one."""
        if self._resampler is None:
            return b""
        tail = self._resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
        self._resampler.clear()
        return _to_s16le(tail)

    def _select(self, block: npt.ArrayLike) -> npt.NDArray[np.float32]:
        data = np.asarray(block, dtype=np.float32)
        if data.ndim == 1 and self.channels == 1:
            data = data.reshape(-1, 1)
        if data.ndim != 2 or data.shape[1] != self.channels:
            raise ValueError(f"expected a block shaped (frames, {self.channels}), got {data.shape}")
        if self.channel == "mix":
            mono = data[:, 0] if self.channels == 1 else data @ self._weights
        else:
            mono = data[:, self.channel]
        return np.ascontiguousarray(mono, dtype=np.float32)


def _to_s16le(samples: npt.NDArray[np.float32]) -> bytes:
    scaled = np.multiply(samples, _INT16_SCALE, dtype=np.float32)
    if not np.isfinite(scaled).all():  # rare: only then pay for the NaN/inf pass
        scaled = np.nan_to_num(scaled, nan=0.0)
    np.rint(scaled, out=scaled)
    np.clip(scaled, _INT16_MIN, _INT16_MAX, out=scaled)
    pcm: npt.NDArray[np.int16] = scaled.astype("<i2")
    return pcm.tobytes()

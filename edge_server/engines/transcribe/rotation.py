"""When to replace a Transcribe stream before its 4-hour limit. Pure.

A stream is also replaced at the next pause (never forced) when a custom vocabulary built from
the glossary became READY after it opened, so the vocabulary is used within a sentence or two.

A stream older than ``rotate_after_s`` is replaced at the next pause: right after a final
result (nothing is in flight), or after a stretch of quiet audio. If no pause comes within
``max_wait_s``, it is replaced anyway, well before the service would cut it mid-sentence.
Age is the larger of wall-clock time and audio time, so audio sent faster than real time
counts too.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

BYTES_PER_SECOND = 32000


class RotationReason(enum.Enum):
    """Why a stream is replaced now."""

    AFTER_FINAL = "after a final"
    SILENCE = "in a silence"
    FORCED = "no pause came"
    VOCABULARY = "for a new custom vocabulary"


@dataclass(frozen=True)
class RotationPolicy:
    """The thresholds (from :class:`TranscribeOptions`)."""

    rotate_after_s: float
    max_wait_s: float
    pause_silence_s: float


@dataclass(frozen=True)
class StreamAge:
    """What the decision looks at for the current service stream."""

    wall_s: float
    """Seconds since the stream was opened."""
    audio_s: float
    """Seconds of audio sent on it."""
    last_result_final: bool | None
    """Whether its latest result was a final (None: no result yet)."""
    trailing_silence_s: float
    """Quiet audio at the end of what was sent."""
    vocabulary_changed: bool = False
    """A custom vocabulary became READY since the stream opened: switch at the next pause."""


def rotation_due(policy: RotationPolicy, age: StreamAge) -> RotationReason | None:
    """Whether to replace the stream before sending the next audio, and why."""
    elapsed = max(age.wall_s, age.audio_s)
    paused = bool(age.last_result_final) or age.trailing_silence_s >= policy.pause_silence_s
    if age.vocabulary_changed and paused:
        return RotationReason.VOCABULARY
    if elapsed < policy.rotate_after_s:
        return None
    if age.last_result_final:
        return RotationReason.AFTER_FINAL
    if age.trailing_silence_s >= policy.pause_silence_s:
        return RotationReason.SILENCE
    if elapsed >= policy.rotate_after_s + policy.max_wait_s:
        return RotationReason.FORCED
    return None


class SilenceMeter:
    """Measures the quiet audio at the end of a s16le stream."""

    def __init__(self, silence_dbfs: float) -> None:
        self.threshold = 32768.0 * 10 ** (silence_dbfs / 20.0)
        self.trailing_s = 0.0

    def update(self, pcm: bytes) -> float:
        """Account for a frame; returns the trailing quiet time."""
        samples = np.frombuffer(pcm[: len(pcm) & ~1], dtype="<i2")
        duration = len(pcm) / BYTES_PER_SECOND
        if samples.size and int(np.abs(samples.astype(np.int32)).max()) >= self.threshold:
            self.trailing_s = 0.0
        else:
            self.trailing_s += duration
        return self.trailing_s

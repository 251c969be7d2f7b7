"""A long talk from short recordings, and what a benchmark makes of the captions it got. Pure.

The LibriVox set is five recordings (25 s of speech with reference texts); a 10-minute talk
plays them in turn, each followed by a pause, as often as it takes. Finals are attributed to the
recording whose time span (with its pause) holds their middle, so the word error rate is
measured over the whole talk; latencies are grouped by the minute of the talk they belong to.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from bench.lib.procstat import summary_s
from bench.lib.wer import wer

BYTES_PER_S = 32000


@dataclass(frozen=True)
class Segment:
    """One recording's place in the talk."""

    start_s: float
    end_s: float
    """End of the recording; its pause follows until the next segment's start."""
    reference: str


def build_talk(
    recordings: list[tuple[bytes, str]], seconds: float, pause_s: float = 1.5
) -> tuple[bytes, list[Segment]]:
    """PCM of at least ``seconds`` (whole recordings, each followed by ``pause_s`` of silence)
    and the segments in it."""
    if not recordings:
        raise ValueError("no recordings to build a talk from")
    pause = b"\0" * (int(pause_s * BYTES_PER_S) // 2 * 2)
    parts: list[bytes] = []
    segments: list[Segment] = []
    at = 0.0
    index = 0
    while at < seconds:
        pcm, reference = recordings[index % len(recordings)]
        length = len(pcm) / BYTES_PER_S
        segments.append(Segment(at, at + length, reference))
        parts += [pcm, pause]
        at += length + len(pause) / BYTES_PER_S
        index += 1
    return b"".join(parts), segments


def attribute(segments: list[Segment], finals: list[tuple[float, float, str]]) -> list[str]:
    """Each segment's hypothesis: the text of the finals (start, end, text) whose middle falls
    between its start and the next segment's start."""
    texts: list[list[str]] = [[] for _ in segments]
    starts = [s.start_s for s in segments]
    for start, end, text in finals:
        middle = (start + end) / 2
        index = max(0, sum(1 for s in starts if s <= middle) - 1)
        texts[index].append(text)
    return [" ".join(t) for t in texts]


def talk_wer(segments: list[Segment], finals: list[tuple[float, float, str]]) -> float:
    """Word error rate of the talk's finals against the references."""
    return wer([s.reference for s in segments], attribute(segments, finals))


def per_minute(samples: list[tuple[float, float]]) -> list[dict[str, Any]]:
    """(talk time s, latency s) samples summarized per minute of the talk."""
    if not samples:
        return []
    minutes = int(max(t for t, _ in samples) // 60) + 1
    out = []
    for minute in range(minutes):
        values = [v for t, v in samples if minute * 60 <= t < (minute + 1) * 60]
        out.append({"minute": minute + 1, **summary_s(values)})
    return out


def growth(minutes: list[dict[str, Any]]) -> float | None:
    """Last full minute's p95 minus the first minute's (positive: falling further behind)."""
    full = [m for m in minutes if m["count"]]
    if len(full) < 2:
        return None
    return round(float(full[-1]["p95_s"]) - float(full[0]["p95_s"]), 3)


def trend(samples: list[tuple[float, float]]) -> float | None:
    """How much latency grows over the talk: the least-squares slope of (talk time s, latency s)
    samples times the talk's length, in seconds (positive: falling behind). Steadier than
    comparing two minutes of nine finals each."""
    if len(samples) < 3:
        return None
    times = [t for t, _ in samples]
    mean_t = statistics.fmean(times)
    mean_v = statistics.fmean(v for _, v in samples)
    spread = sum((t - mean_t) ** 2 for t in times)
    if spread == 0:
        return None
    slope = sum((t - mean_t) * (v - mean_v) for t, v in samples) / spread
    return round(slope * (max(times) - min(times)), 3)

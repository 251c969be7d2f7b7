"""Caption latency: how long after its audio arrived a final reached subscribers. Pure."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


class ArrivalClock:
    """When the audio up to each point of a room's timeline arrived (bounded memory)."""

    def __init__(self, keep: int = 3000) -> None:
        self._marks: deque[tuple[float, float]] = deque(maxlen=keep)

    def record(self, timeline_end: float, arrived_at: float) -> None:
        """Audio up to ``timeline_end`` (seconds) arrived at ``arrived_at`` (monotonic)."""
        self._marks.append((timeline_end, arrived_at))

    def arrival_of(self, timeline: float) -> float | None:
        """When the frame holding ``timeline`` arrived; forgets earlier marks. None if unknown."""
        marks = self._marks
        while len(marks) > 1 and marks[1][0] <= timeline:
            marks.popleft()
        for end, at in marks:
            if end >= timeline - 1e-6:
                return at
        return None


@dataclass(frozen=True)
class LatencySummary:
    """Recent caption latencies, in seconds."""

    last_s: float
    p50_s: float
    p95_s: float
    count: int


class LatencyStats:
    """The latest latencies of a room."""

    def __init__(self, keep: int = 200) -> None:
        self._values: deque[float] = deque(maxlen=keep)
        self.count = 0

    def add(self, seconds: float) -> None:
        """Record one final's latency."""
        self._values.append(max(0.0, seconds))
        self.count += 1

    def summary(self) -> LatencySummary | None:
        """last, p50 and p95 of the kept values; None before the first final."""
        if not self._values:
            return None
        ordered = sorted(self._values)

        def pick(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

        return LatencySummary(round(self._values[-1], 3), pick(0.5), pick(0.95), self.count)

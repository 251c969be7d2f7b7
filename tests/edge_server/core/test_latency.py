"""Caption latency (edge_server.core.latency): when audio arrived, and the recent figures."""

from __future__ import annotations

import pytest

from edge_server.core.latency import ArrivalClock, LatencyStats


@pytest.mark.parametrize(
    ("marks", "asked", "expected"),
    [
        # (timeline end of each frame, when it arrived); the frame holding `asked` answers
        ([(0.1, 10.0), (0.2, 10.1), (0.3, 10.2)], 0.15, 10.1),
        ([(0.1, 10.0), (0.2, 10.1), (0.3, 10.2)], 0.2, 10.1),  # exactly a frame's end
        ([(0.1, 10.0), (0.2, 10.1), (0.3, 10.2)], 0.05, 10.0),
        ([(0.1, 10.0), (0.2, 10.1), (0.3, 10.2)], 0.3, 10.2),
        ([(0.1, 10.0), (0.2, 10.1)], 0.5, None),  # audio not arrived yet: unknown
        ([], 0.1, None),
    ],
)
def test_arrival_of_a_point_of_the_timeline(
    marks: list[tuple[float, float]], asked: float, expected: float | None
) -> None:
    clock = ArrivalClock()
    for end, at in marks:
        clock.record(end, at)
    assert clock.arrival_of(asked) == expected


def test_arrival_clock_forgets_what_is_behind_and_stays_bounded() -> None:
    clock = ArrivalClock(keep=3)
    for i in range(1, 11):
        clock.record(i * 0.1, 100.0 + i)
    # Only the last three frames are kept: anything earlier answers with the oldest kept.
    assert clock.arrival_of(0.85) == 109.0
    assert clock.arrival_of(0.2) == 108.0
    # Asking for a later point forgets the frames wholly before the one asked before it:
    # the frame ending at 0.8 is gone, so earlier points now map to the frame ending at 0.9.
    assert clock.arrival_of(0.95) == 110.0
    assert clock.arrival_of(0.2) == 109.0
    assert clock.arrival_of(0.85) == 109.0


def test_latency_summary_is_none_before_the_first_final() -> None:
    assert LatencyStats().summary() is None


@pytest.mark.parametrize(
    ("values", "last", "p50", "p95"),
    [
        ([0.5], 0.5, 0.5, 0.5),
        ([0.3, 0.1, 0.2], 0.2, 0.2, 0.3),
        ([float(i) for i in range(1, 101)], 100.0, 51.0, 96.0),
        ([-0.2, 0.4], 0.4, 0.4, 0.4),  # a clock step backwards counts as 0, never negative
    ],
)
def test_latency_summary(values: list[float], last: float, p50: float, p95: float) -> None:
    stats = LatencyStats()
    for value in values:
        stats.add(value)
    summary = stats.summary()
    assert summary is not None
    assert (summary.last_s, summary.p50_s, summary.p95_s) == (last, p50, p95)
    assert summary.count == len(values)


def test_latency_keeps_recent_values_but_counts_all() -> None:
    stats = LatencyStats(keep=5)
    for value in [9.0] * 20 + [1.0] * 5:
        stats.add(value)
    summary = stats.summary()
    assert summary is not None
    assert summary.p95_s == 1.0  # the old slow finals have aged out
    assert summary.count == 25

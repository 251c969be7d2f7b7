"""The pace governor as a table: lag readings in, speed-ladder steps (and "behind") out."""

from __future__ import annotations

import pytest

from edge_server.core.pace import PaceGovernor, PaceRules

# Default rules: slower above 1.0 s held 3 s, faster below 0.4 s held 60 s, behind above 3.0 s.
# Each row: readings as (time s, lag s), then the step after each reading ("B" suffix: behind).
TABLE: list[tuple[str, list[tuple[float, float]], list[str]]] = [
    (
        "keeps up: stays on the accurate step",
        [(0, 0.2), (1, 0.5), (2, 0.9), (3, 0.3), (60, 0.2)],
        ["0", "0", "0", "0", "0"],
    ),
    (
        "a short burst of lag does not step",
        [(0, 1.5), (1, 2.0), (2, 1.2), (2.5, 0.5), (4, 1.4)],
        ["0", "0", "0", "0", "0"],
    ),
    (
        "lag held above 1 s for 3 s steps faster, once per hold",
        [(0, 1.5), (1, 1.6), (3, 1.7), (4, 1.8), (5.9, 1.8), (6, 1.9)],
        ["0", "0", "1", "1", "1", "2"],
    ),
    (
        "never past the fastest step",
        [(0, 2), (3, 2), (6, 2), (9, 2), (12, 2)],
        ["0", "1", "2", "2", "2"],
    ),
    (
        "behind only at the fastest step, after a hold, above 3 s; clears when caught up",
        [(0, 4), (3, 4), (6, 4), (7, 4), (9, 4), (10, 2.0), (11, 0.9)],
        ["0", "1", "2", "2", "2B", "2B", "2"],
    ),
    (
        "back to accurate only after 60 s below 0.4 s, one step per minute",
        [(0, 2), (3, 2), (4, 0.3), (50, 0.3), (64, 0.3), (100, 0.2), (124, 0.1)],
        ["0", "1", "1", "1", "0", "0", "0"],
    ),
    (
        "a lag between the thresholds resets the wait for stepping back",
        [(0, 2), (3, 2), (4, 0.3), (40, 0.6), (41, 0.3), (90, 0.3), (101, 0.3)],
        ["0", "1", "1", "1", "1", "1", "0"],
    ),
]


@pytest.mark.parametrize(
    ("readings", "expected"), [(r, e) for _, r, e in TABLE], ids=[name for name, _, _ in TABLE]
)
def test_pace_table(readings: list[tuple[float, float]], expected: list[str]) -> None:
    governor = PaceGovernor(steps=3)
    got = []
    for now, lag in readings:
        decision = governor.observe(lag, now)
        got.append(f"{decision.step}{'B' if decision.behind else ''}")
    assert got == expected


def test_changed_and_reason_are_reported_once_per_change() -> None:
    governor = PaceGovernor(steps=2)
    decisions = [governor.observe(lag, now) for now, lag in [(0, 2), (3, 2), (4, 2)]]
    assert [d.changed for d in decisions] == [False, True, False]
    assert "above 1 s" in decisions[1].reason
    assert decisions[2].reason == ""


def test_a_one_step_ladder_can_only_report_behind() -> None:
    governor = PaceGovernor(steps=1)
    decisions = [governor.observe(5.0, now) for now in (0, 2, 3)]
    assert [(d.step, d.behind) for d in decisions] == [(0, False), (0, False), (0, True)]
    assert "falling behind" in decisions[2].reason


@pytest.mark.parametrize(
    "kwargs",
    [
        {"faster_below_s": 1.0, "slower_above_s": 1.0},
        {"slower_above_s": 4.0, "behind_above_s": 3.0},
        {"hold_slower_s": -1.0},
    ],
)
def test_inconsistent_rules_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        PaceRules(**kwargs)


def test_bad_ladder_is_refused() -> None:
    with pytest.raises(ValueError):
        PaceGovernor(steps=0)
    with pytest.raises(ValueError):
        PaceGovernor(steps=2, start=2)

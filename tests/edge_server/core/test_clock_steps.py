"""Clock steps date the finals stored while the clock was not synchronized."""

from __future__ import annotations

import datetime as dt

import pytest

from edge_server.core.clock_steps import ClockStep, corrected, parse_steps, step_seen
from edge_server.core.schedule_xml import parse_schedule
from edge_server.core.talk_transcripts import UNATTRIBUTED, group_by_talk, relative_to_talk
from tests.helpers.paths import FIXTURES

SCHEDULE = parse_schedule((FIXTURES / "schedule" / "conference.xml").read_bytes())
UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


# A Pi booted with a clock 1 year and 10 s behind, then synchronized; later, after a reboot, a
# clock 30 s ahead that was synchronized again.
STEPS = [
    ClockStep(at("2025-02-07T09:00:00+00:00"), 365 * 86400 + 10.0),
    ClockStep(at("2026-02-07T23:00:00+00:00"), -30.0),
]


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2025-02-07T08:10:00+00:00", "2026-02-07T08:10:10+00:00"),
        ("2025-02-07T09:00:00+00:00", "2026-02-07T09:00:10+00:00"),  # the last look before
        ("2026-02-07T22:00:30+00:00", "2026-02-07T22:00:00+00:00"),
        ("2026-02-07T23:00:01+00:00", None),  # no step after it (yet)
    ],
)
def test_a_time_is_moved_by_the_first_step_after_it(when: str, expected: str | None) -> None:
    result = corrected(at(when), STEPS)
    assert result == (at(expected) if expected else None)


def test_steps_file_lines_round_trip_and_bad_lines_are_skipped() -> None:
    lines = [STEPS[1].to_json(), "not json", '{"before": "x", "step_s": 1}', STEPS[0].to_json()]
    assert parse_steps(lines) == STEPS  # oldest first
    assert parse_steps(['{"before": "2026-01-01T00:00:00", "step_s": "2.5"}']) == [
        ClockStep(dt.datetime(2026, 1, 1, tzinfo=UTC), 2.5)
    ]
    seen = step_seen(1000.0, 1012.5, at("2026-01-01T00:00:00+00:00"))
    assert seen.step_s == 12.5


def test_unsynchronized_finals_are_attributed_once_a_step_dates_them() -> None:
    # Stored at 08:59:58 by a clock a year and 10 s behind: spoken 10:00:06+01 -> talk 101.
    record = {
        "segment": 1, "text": "hi", "start": 3.0, "end": 5.0,
        "wall": "2025-02-07T08:59:58.000Z", "clock_unsynced": True,
    }  # fmt: skip
    assert list(group_by_talk([record], SCHEDULE, "Hall A")) == [UNATTRIBUTED]
    assert list(group_by_talk([record], SCHEDULE, "Hall A", STEPS)) == ["101"]
    talk = SCHEDULE.talk("Hall A", "101")
    assert talk is not None
    [row] = relative_to_talk([record], talk, steps=STEPS)
    assert (row["start"], row["end"]) == (6.0, 8.0)  # 09:00:06Z - 09:00Z
    [undated] = relative_to_talk([record], talk)
    assert (undated["start"], undated["end"]) == (3.0, 5.0)  # room times, not a wrong time

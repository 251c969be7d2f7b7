"""Attributing finals to talks, per-talk cue times and the board's state, with tables."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from edge_server.core.exports import to_srt
from edge_server.core.schedule_xml import parse_schedule
from edge_server.core.talk_board import TalkBoard
from edge_server.core.talk_transcripts import (
    BETWEEN,
    UNATTRIBUTED,
    attribute,
    group_by_talk,
    relative_to_talk,
    spoken_at,
)
from tests.helpers.paths import FIXTURES

SCHEDULE = parse_schedule((FIXTURES / "schedule" / "conference.xml").read_bytes())


def final(wall: str, start: float = 100.0, length: float = 2.0, **extra: Any) -> dict[str, Any]:
    return {"segment": 1, "text": "hello", "start": start, "end": start + length, "wall": wall}


@pytest.mark.parametrize(
    ("room", "wall", "length", "expected"),
    [
        ("Hall A", "2026-02-07T09:00:01.000Z", 2.0, BETWEEN),  # began 09:59:59+01: by its start
        ("Hall A", "2026-02-07T09:00:02.000Z", 2.0, "101"),  # began 10:00:00+01
        ("Hall A", "2026-02-07T09:00:03.000Z", 2.0, "101"),
        ("Hall A", "2026-02-07T08:59:59.500Z", 0.5, BETWEEN),  # spoken before 10:00+01
        ("Hall A", "2026-02-07T09:30:01.000Z", 2.0, "101"),  # began before 10:30: the opening
        ("Hall A", "2026-02-07T09:30:03.000Z", 2.0, "102"),
        ("Hall A", "2026-02-07T23:10:00.000Z", 4.0, "103"),  # 00:10+01 on the 8th
        ("Hall A", "2026-02-07T23:40:00.000Z", 4.0, BETWEEN),
        ("Room B/2", "2026-02-07T10:20:00.000Z", 4.0, "remote-202"),
        ("room-b-2", "2026-02-07T09:20:00.000Z", 4.0, "201"),
    ],
)
def test_a_final_is_attributed_by_when_it_was_spoken(
    room: str, wall: str, length: float, expected: str
) -> None:
    record = final(wall, length=length)
    attribute(record, SCHEDULE, room, clock_synchronized=True)
    assert record["talk"] == (None if expected == BETWEEN else expected)
    assert group_by_talk([record], None, room) == {expected: [record]}  # stored field wins


def test_without_a_schedule_or_room_a_final_is_left_for_later() -> None:
    for schedule, room in ((None, "Hall A"), (SCHEDULE, "Hall C")):
        record = final("2026-02-07T09:10:00.000Z")
        attribute(record, schedule, room, clock_synchronized=True)
        assert "talk" not in record
    # ... and attributed when read, by its wall time
    assert list(group_by_talk([record], SCHEDULE, "Hall A")) == ["101"]
    assert list(group_by_talk([record], None, "Hall A")) == [BETWEEN]


def test_an_unsynchronized_clock_marks_the_final_and_attributes_nothing() -> None:
    record = final("2026-02-07T09:10:00.000Z")
    attribute(record, SCHEDULE, "Hall A", clock_synchronized=False)
    assert record == final("2026-02-07T09:10:00.000Z") | {"clock_unsynced": True}
    assert list(group_by_talk([record], SCHEDULE, "Hall A")) == [UNATTRIBUTED]
    unknown = final("2026-02-07T09:10:00.000Z")
    attribute(unknown, SCHEDULE, "Hall A", clock_synchronized=None)  # unknown: trusted
    assert unknown["talk"] == "101"


def test_cue_times_are_relative_to_the_talks_scheduled_start_and_its_offset() -> None:
    talk = SCHEDULE.talk("Hall A", "102")
    assert talk is not None  # starts 10:30+01 = 09:30Z
    records = [
        final("2026-02-07T09:30:12.500Z", start=5000.0, length=2.5),  # spoken 09:30:10Z
        final("2026-02-07T10:01:05.000Z", start=5100.0, length=5.0),  # spoken 10:01:00Z
        {"segment": 3, "text": "no wall", "start": 7.0, "end": 8.0},
    ]
    rel = relative_to_talk(records, talk)
    assert [(r["start"], r["end"]) for r in rel] == [(10.0, 12.5), (1860.0, 1865.0), (7.0, 8.0)]
    assert records[0]["start"] == 5000.0  # copies: the records are untouched
    late = relative_to_talk(records[:1], talk, offset_s=4.0)
    assert (late[0]["start"], late[0]["end"]) == (6.0, 8.5)
    srt = to_srt(rel[:2])
    assert srt.startswith("1\n00:00:10,000 --> 00:00:12,500\nhello\n")
    assert "2\n00:31:00,000 --> 00:31:05,000\nhello\n" in srt


@pytest.mark.parametrize(
    ("wall", "expected"),
    [
        ("2026-02-07T09:00:02.000Z", dt.datetime(2026, 2, 7, 9, 0, tzinfo=dt.UTC)),
        ("2026-02-07T09:00:02+00:00", dt.datetime(2026, 2, 7, 9, 0, tzinfo=dt.UTC)),
        ("2026-02-07T09:00:02", dt.datetime(2026, 2, 7, 9, 0, tzinfo=dt.UTC)),
        ("garbage", None),
        (None, None),
    ],
)
def test_spoken_at(wall: object, expected: dt.datetime | None) -> None:
    assert spoken_at({"start": 1.0, "end": 3.0, "wall": wall}) == expected


def test_the_board_keeps_the_last_good_schedule_and_says_why_reading_failed() -> None:
    board = TalkBoard("https://pretalx.example.org/schedule.xml")
    assert board.room_error("hall-a", "hall-a") == "no schedule loaded: not read yet"
    assert board.failed("HTTP 502 Bad Gateway", "t0") is True
    assert board.failed("HTTP 502 Bad Gateway", "t1") is False  # logged once
    assert board.alarms() == [
        "schedule https://pretalx.example.org/schedule.xml: HTTP 502 Bad Gateway"
    ]
    board.loaded(SCHEDULE, "t2")
    assert board.alarms() == []
    assert board.room_error("hall-a", "hall-a") is None
    board.failed("no complete answer within 20 s", "t3")
    assert board.schedule is SCHEDULE
    assert board.alarms()[0].endswith("(the last good schedule is kept)")
    missing = board.room_error("hall-c", "hall-c")
    assert missing is not None
    assert "has no room 'hall-c'" in missing
    assert "Hall A, Room B/2" in missing
    view = board.room_view("hall-a", "hall-a", dt.datetime(2026, 2, 7, 9, 40, tzinfo=dt.UTC))
    assert view is not None
    assert (view["current"]["id"], view["next"]["id"]) == ("102", "103")
    assert view["current"]["speakers"] == ["Bob Builder", "Carol Ödegaard"]


def test_the_board_alarms_about_the_clock_only_when_a_schedule_needs_it() -> None:
    without = TalkBoard("")
    without.set_clock(False, "kernel: not synchronized")
    assert without.alarms() == []
    assert without.room_view("a", "a", dt.datetime.now(dt.UTC)) is None
    board = TalkBoard("schedule.xml")
    board.loaded(SCHEDULE, "t0")
    assert board.set_clock(False, "kernel: not synchronized") is True
    assert board.set_clock(False, "kernel: not synchronized") is False
    assert board.alarms() == [
        "the system clock is NOT synchronized: finals are not attributed to talks until it is "
        "(kernel: not synchronized)"
    ]
    record = final("2026-02-07T09:10:00.000Z")
    board.tag(record, "Hall A")
    assert record.get("clock_unsynced") is True
    board.set_clock(True, "kernel: synchronized")
    assert board.alarms() == []
    record = final("2026-02-07T09:10:00.000Z")
    board.tag(record, "Hall A")
    assert record["talk"] == "101"
    assert board.report()["schedule"]["talks"] == 5  # 104 has no duration

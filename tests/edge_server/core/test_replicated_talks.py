"""A room's talks through Redis and back (pure): the hub's listing and per-talk rows equal the
room's for the same finals, including finals stored while the clock was not synchronized (dated
by the replicated clock step), a talk's offset, finals stored without a schedule; documents a
hub cannot read are refused with the reason."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from edge_server.core.clock_steps import ClockStep
from edge_server.core.replicated_talks import (
    TalksDocumentError,
    no_talks,
    room_talks_of,
    talks_document,
)
from edge_server.core.talk_listing import RoomTalks, UnknownTalk, talk_list, talk_rows
from edge_server.core.talks import Schedule, Talk

ZONE = dt.timezone(dt.timedelta(hours=-5))
T0 = dt.datetime(2026, 12, 3, 9, 0, tzinfo=ZONE)


def talk(talk_id: str, room: str, start_min: int, minutes: int) -> Talk:
    start = T0 + dt.timedelta(minutes=start_min)
    end = start + dt.timedelta(minutes=minutes)
    speakers = ("Ada", "Grace")
    return Talk(talk_id, f"Talk {talk_id}", room, start, end, f"slug-{talk_id}", speakers,
                url="https://example.org/" + talk_id)  # fmt: skip


SCHEDULE = Schedule.of(
    [talk("a", "Main Hall", 0, 30), talk("b", "Main Hall", 40, 30), talk("x", "Annex", 0, 60)]
)


def wall(minutes: float) -> str:
    when = T0 + dt.timedelta(minutes=minutes)
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def final(segment: int, minutes: float, **extra: Any) -> dict[str, Any]:
    return {"segment": segment, "text": f"w{segment}", "start": 0.0, "end": 2.0,
            "wall": wall(minutes), **extra}  # fmt: skip


RECORDS = [
    final(1, 5, talk="a"),  # attributed when stored
    final(2, 35, talk=None),  # between talks
    final(3, 45),  # stored without a schedule: attributed when read (talk b)
    # stored while the clock was 10 minutes slow; the step says when it was really spoken (b)
    final(4, 40, clock_unsynced=True),
    final(5, 200, clock_unsynced=True),  # after the step's time: still unattributed
]
ROOM = RoomTalks(
    room="main",
    schedule_room="main-hall",
    schedule=SCHEDULE,
    offsets={"b": 12.5},
    steps=(ClockStep(T0 + dt.timedelta(minutes=100), 600.0),),
    error=None,
    clock_synchronized=True,
)


def through_redis(view: RoomTalks) -> RoomTalks:
    return room_talks_of(json.dumps(talks_document(view)).encode(), view.room)


def test_the_hub_lists_and_cuts_the_talks_as_the_room_does() -> None:
    hub = through_redis(ROOM)
    assert talk_list(hub, hub.group(RECORDS)) == talk_list(ROOM, ROOM.group(RECORDS))
    listing = talk_list(hub, hub.group(RECORDS))
    assert [(t["id"], t["finals"]) for t in listing["talks"]] == [("a", 1), ("b", 2)]
    assert listing["between"]["finals"] == 1
    assert listing["unattributed"]["finals"] == 1
    for talk_id in ("a", "b", "between", "unattributed"):
        assert talk_rows(hub, talk_id, hub.group(RECORDS)) == talk_rows(
            ROOM, talk_id, ROOM.group(RECORDS)
        )
    _, rows = talk_rows(hub, "b", hub.group(RECORDS))
    # w3 spoken at 45 min - 2 s, talk b starts at 40 min, offset 12.5 s
    assert rows[0]["start"] == pytest.approx(5 * 60 - 2 - 12.5)


def test_only_the_room_s_own_talks_travel() -> None:
    document = talks_document(ROOM)
    assert [t["id"] for t in document["talks"]] == ["a", "b"]
    assert document["offsets"] == {"b": 12.5}
    assert document["clock_steps"] == [{"before": "2026-12-03T10:40:00-05:00", "step_s": 600.0}]


def test_a_room_without_a_schedule_and_one_with_an_error() -> None:
    for view in (
        no_talks("main"),
        RoomTalks("main", "main", None, error="no schedule loaded: timed out"),
    ):
        hub = through_redis(view)
        assert hub.error == view.error
        listing = talk_list(hub, hub.group(RECORDS))
        assert listing["talks"] == []
        # as on the room: the stored attribution stays, the unsynchronized wait for a step
        assert listing["between"]["finals"] == 2
        assert listing["unattributed"]["finals"] == 2
        with pytest.raises(UnknownTalk, match="no talk 'a'"):
            talk_rows(hub, "a", hub.group(RECORDS))


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "format None"),
        (json.dumps({"version": 2}).encode(), "format 2, this hub reads 1"),
        (json.dumps({"version": 1, "loaded": True, "talks": [{"id": "a"}]}).encode(),
         "cannot be read"),
        (json.dumps({"version": 1, "loaded": True, "talks": [
            {"id": "a", "room": "r", "start": "2026-12-03T09:00", "end": "2026-12-03T10:00"}
        ]}).encode(), "cannot be read"),
        (json.dumps({"version": 1, "offsets": {"a": "soon"}}).encode(), "cannot be read"),
    ],
)  # fmt: skip
def test_a_document_the_hub_cannot_read_is_refused_with_the_reason(raw: bytes, why: str) -> None:
    with pytest.raises(TalksDocumentError, match=why):
        room_talks_of(raw, "main")

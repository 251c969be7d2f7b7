"""A room's talks as ``GET /rooms/{room}/talks`` lists them, and one talk's finals as its
transcript files show them. Pure: the room server builds a :class:`RoomTalks` from its room,
a hub from what the room replicated to Redis (:mod:`.replicated_talks`); both answer the same.

Besides the schedule's talks: :data:`~.talk_transcripts.BETWEEN` (finals outside any talk, in
room times) and, when there are any, :data:`~.talk_transcripts.UNATTRIBUTED` (finals stored
while the clock was not synchronized, and no clock step since says when they were spoken).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from edge_server.core.clock_steps import ClockStep
from edge_server.core.talk_transcripts import (
    BETWEEN,
    UNATTRIBUTED,
    group_by_talk,
    relative_to_talk,
)
from edge_server.core.talks import Schedule, Talk

FORMATS = ("txt", "srt", "vtt", "jsonl")
"""The formats of a talk's transcript."""

Groups = dict[str, list[Mapping[str, Any]]]


class UnknownTalk(LookupError):
    """No such talk in the room; the message says why (for a 404)."""


@dataclass(frozen=True)
class RoomTalks:
    """What a room knows of its talks: enough to list them and cut its transcript per talk."""

    room: str
    schedule_room: str
    """The room's name in the schedule."""
    schedule: Schedule | None
    """The last good schedule (None: none configured or none loaded yet)."""
    offsets: Mapping[str, float] = field(default_factory=dict)
    """Seconds added to a talk's start for its files (a recording that began late), by id."""
    steps: Sequence[ClockStep] = ()
    """Clock steps: they date the finals stored while the clock was not synchronized."""
    error: str | None = None
    """Why the room has no talk information (no schedule loaded, a room the schedule lacks)."""
    clock_synchronized: bool | None = None

    def talks(self) -> tuple[Talk, ...]:
        """The room's talks in schedule order."""
        return self.schedule.room_talks(self.schedule_room) if self.schedule is not None else ()

    def group(self, records: Iterable[Mapping[str, Any]]) -> Groups:
        """The finals of each talk id (and of the pseudo-talks), in transcript order."""
        return group_by_talk(records, self.schedule, self.schedule_room, self.steps)


def talk_links(room: str, talk_id: str) -> dict[str, str]:
    """The addresses of a talk's transcript, by format."""
    base = f"/rooms/{quote(room)}/talks/{quote(talk_id)}/transcript"
    return {fmt: f"{base}.{fmt}" for fmt in FORMATS}


def talk_list(view: RoomTalks, groups: Groups) -> dict[str, Any]:
    """The body of ``GET /rooms/{room}/talks``: each talk with its finals count and links."""
    talks = [
        talk.summary()
        | {
            "finals": len(groups.get(talk.id, [])),
            "offset_s": view.offsets.get(talk.id, 0.0),
            "links": talk_links(view.room, talk.id),
        }
        for talk in view.talks()
    ]
    body: dict[str, Any] = {
        "room": view.room,
        "schedule_room": view.schedule_room,
        "error": view.error,
        "clock_synchronized": view.clock_synchronized,
        "talks": talks,
        "between": {
            "finals": len(groups.get(BETWEEN, [])),
            "links": talk_links(view.room, BETWEEN),
        },
    }
    if groups.get(UNATTRIBUTED):
        body["unattributed"] = {
            "finals": len(groups[UNATTRIBUTED]),
            "links": talk_links(view.room, UNATTRIBUTED),
        }
    return body


def talk_rows(
    view: RoomTalks, talk_id: str, groups: Groups
) -> tuple[Talk | None, list[dict[str, Any]]]:
    """One talk's finals for its files, times from its scheduled start (plus its offset); the
    pseudo-talks keep room times. Raises :class:`UnknownTalk` for a talk the room lacks."""
    talk = view.schedule.talk(view.schedule_room, talk_id) if view.schedule is not None else None
    if talk is None and talk_id not in (BETWEEN, UNATTRIBUTED):
        raise UnknownTalk(f"no talk {talk_id!r}: {view.error or 'not in this room'}")
    records = groups.get(talk_id, [])
    if talk is None:
        return None, [dict(r) for r in records]
    offset = view.offsets.get(talk.id, 0.0)
    return talk, relative_to_talk(records, talk, offset, view.steps)


def talk_filename(room: str, talk: Talk | None, talk_id: str, lang: str | None, fmt: str) -> str:
    """The file name a talk's transcript is offered under."""
    name = talk.slug if talk is not None else talk_id
    return f"{room}-{name}{'-' + lang if lang else ''}.{fmt}"

"""Talks of a conference and which one runs in a room at a given time. Pure, no I/O.

A :class:`Schedule` is what :mod:`.schedule_xml` reads from the conference's Schedule XML; a
room finds its talks by the schedule's room name, compared without case, spaces or punctuation
(:func:`room_key`), so the server's room ``hall-a`` matches the schedule's ``Hall A``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
"""What a talk id or slug may look like in a URL path or a folder name."""


def room_key(name: str) -> str:
    """``name`` as rooms are compared: case-folded, letters and digits only (``Hall A`` and
    ``hall-a`` are the same room)."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def safe_name(text: str, fallback: str) -> str:
    """``text`` made safe as a URL path segment and a folder name (``fallback`` if nothing is
    left): runs of other characters become ``-``."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip()).strip("-._")[:80]
    return cleaned if cleaned else fallback


@dataclass(frozen=True)
class Talk:
    """One event of the schedule."""

    id: str
    """Stable and URL-safe: the event's ``id`` attribute, else its ``guid``, else its slug."""
    title: str
    room: str
    """The schedule's room name."""
    start: dt.datetime
    """Scheduled start, time-zone aware."""
    end: dt.datetime
    """Scheduled end (start + duration)."""
    slug: str
    """Folder name of its exports (the event's ``<slug>``, made safe; else the id)."""
    speakers: tuple[str, ...] = ()
    guid: str = ""
    url: str = ""

    def covers(self, when: dt.datetime) -> bool:
        """True when ``when`` is within ``[start, end)``."""
        return self.start <= when < self.end

    def summary(self) -> dict[str, Any]:
        """The talk as JSON fields (times in ISO 8601 with the schedule's offset)."""
        return {
            "id": self.id,
            "title": self.title,
            "speakers": list(self.speakers),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "slug": self.slug,
            "room": self.room,
            "url": self.url or None,
        }


@dataclass(frozen=True)
class Schedule:
    """Every talk of the conference, by room, sorted by start."""

    talks: tuple[Talk, ...]
    title: str = ""
    notes: tuple[str, ...] = ()
    """What the parser skipped or guessed (an event without a start, no time zone): logged."""
    _by_room: Mapping[str, tuple[Talk, ...]] = field(default_factory=dict, compare=False)
    _index: Mapping[str, tuple[list[float], list[float], list[float]]] = field(
        default_factory=dict, compare=False
    )
    """Per room: start and end times (Unix seconds) and the latest end so far, for lookups
    in O(log n) (a day of finals is attributed in one pass)."""

    @classmethod
    def of(cls, talks: Iterable[Talk], title: str = "", notes: Iterable[str] = ()) -> Schedule:
        """A schedule of ``talks`` (any order)."""
        ordered = tuple(sorted(talks, key=lambda t: (t.start, t.end, t.id)))
        by_room: dict[str, list[Talk]] = {}
        for talk in ordered:
            by_room.setdefault(room_key(talk.room), []).append(talk)
        index = {}
        for key, talks in by_room.items():
            ends = [t.end.timestamp() for t in talks]
            index[key] = (
                [t.start.timestamp() for t in talks],
                ends,
                list(itertools.accumulate(ends, max)),
            )
        return cls(ordered, title, tuple(notes), {k: tuple(v) for k, v in by_room.items()}, index)

    @property
    def rooms(self) -> list[str]:
        """The schedule's room names, sorted."""
        return sorted({t.room for t in self.talks})

    def has_room(self, schedule_room: str) -> bool:
        """True when the schedule has talks in ``schedule_room`` (compared by :func:`room_key`)."""
        return room_key(schedule_room) in self._by_room

    def room_talks(self, schedule_room: str) -> tuple[Talk, ...]:
        """The talks of ``schedule_room``, by start."""
        return self._by_room.get(room_key(schedule_room), ())

    def talk(self, schedule_room: str, talk_id: str) -> Talk | None:
        """The talk ``talk_id`` of ``schedule_room``, or None."""
        return next((t for t in self.room_talks(schedule_room) if t.id == talk_id), None)

    def talk_at(self, schedule_room: str, when: dt.datetime) -> Talk | None:
        """The talk running in ``schedule_room`` at ``when`` (of overlapping ones, the one that
        started last), or None between talks."""
        key = room_key(schedule_room)
        if key not in self._index:
            return None
        starts, ends, latest_end = self._index[key]
        moment = when.timestamp()
        for j in range(bisect.bisect_right(starts, moment) - 1, -1, -1):
            if latest_end[j] <= moment:
                return None  # no talk this early or earlier runs until then
            if ends[j] > moment:
                return self._by_room[key][j]
        return None

    def next_talk(self, schedule_room: str, when: dt.datetime) -> Talk | None:
        """The first talk of ``schedule_room`` starting after ``when``, or None."""
        key = room_key(schedule_room)
        if key not in self._index:
            return None
        i = bisect.bisect_right(self._index[key][0], when.timestamp())
        talks = self._by_room[key]
        return talks[i] if i < len(talks) else None

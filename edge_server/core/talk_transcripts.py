"""Which talk a final belongs to, and a talk's finals with times relative to its start. Pure.

A final is attributed when it is stored, by the wall-clock time it was spoken (its ``wall``
time, when it was stored, minus its length): ``"talk": "<id>"`` in the transcript, or
``"talk": null`` between talks, so the attribution survives restarts and schedule changes. A
final stored while the system clock was not synchronized gets ``"clock_unsynced": true`` and no
talk (its wall time cannot be trusted) until the clock steps to the right time: then the step
(:mod:`.clock_steps`) gives its true time and it is attributed when read. A final stored without
a schedule (none configured yet, none loaded, the room not in it) has neither field and is
attributed when read, by its wall time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from edge_server.core.clock_steps import ClockStep, corrected
from edge_server.core.talks import Schedule, Talk

TALK_FIELD = "talk"
"""The talk id of a stored final; null between talks."""
UNSYNCED_FIELD = "clock_unsynced"
"""Set on a final stored while the system clock was not synchronized (not attributed)."""
BETWEEN = "between"
"""The pseudo-talk of finals spoken outside any talk."""
UNATTRIBUTED = "unattributed"
"""The pseudo-talk of finals stored while the clock was not synchronized."""


def parse_wall(text: object) -> dt.datetime | None:
    """A stored ``wall`` time (``2026-12-03T08:00:00.000Z``) as an aware datetime, or None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _length(record: Mapping[str, Any]) -> float:
    try:
        return max(0.0, float(record.get("end", 0.0)) - float(record.get("start", 0.0)))
    except (TypeError, ValueError):
        return 0.0


def spoken_at(record: Mapping[str, Any]) -> dt.datetime | None:
    """When a final began to be spoken, by the wall clock: its ``wall`` time (when it was
    stored, a caption latency after its end) minus its length. None without a wall time."""
    wall = parse_wall(record.get("wall"))
    return None if wall is None else wall - dt.timedelta(seconds=_length(record))


def true_spoken_at(
    record: Mapping[str, Any], steps: Sequence[ClockStep] = ()
) -> dt.datetime | None:
    """:func:`spoken_at`, corrected by the clock step that followed for a final stored while
    the clock was not synchronized (None while no step came yet)."""
    when = spoken_at(record)
    if when is None or not record.get(UNSYNCED_FIELD):
        return when
    return corrected(when, steps)


def attribute(
    record: dict[str, Any],
    schedule: Schedule | None,
    schedule_room: str,
    clock_synchronized: bool | None,
) -> None:
    """Mark ``record`` (before it is stored) with its talk, ``null`` between talks, or
    ``clock_unsynced``; leave it unmarked without a schedule or when the room is not in it.
    ``clock_synchronized`` None (unknown) trusts the clock."""
    if schedule is None or not schedule.has_room(schedule_room):
        return
    if clock_synchronized is False:
        record[UNSYNCED_FIELD] = True
        return
    when = spoken_at(record)
    if when is None:
        return
    talk = schedule.talk_at(schedule_room, when)
    record[TALK_FIELD] = talk.id if talk is not None else None


def talk_key(
    record: Mapping[str, Any],
    schedule: Schedule | None,
    schedule_room: str,
    steps: Sequence[ClockStep] = (),
) -> str:
    """The talk id a stored final belongs to, :data:`BETWEEN` or :data:`UNATTRIBUTED` (stored
    while the clock was not synchronized, and no clock step since says when it was spoken)."""
    if TALK_FIELD in record:
        value = record[TALK_FIELD]
        return value if isinstance(value, str) and value else BETWEEN
    when = true_spoken_at(record, steps)
    if when is None and record.get(UNSYNCED_FIELD):
        return UNATTRIBUTED
    talk = None if schedule is None or when is None else schedule.talk_at(schedule_room, when)
    return talk.id if talk is not None else BETWEEN


def group_by_talk(
    records: Iterable[Mapping[str, Any]],
    schedule: Schedule | None,
    schedule_room: str,
    steps: Sequence[ClockStep] = (),
) -> dict[str, list[Mapping[str, Any]]]:
    """The finals of each talk id (and of the pseudo-talks), in transcript order."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        groups.setdefault(talk_key(record, schedule, schedule_room, steps), []).append(record)
    return groups


def relative_to_talk(
    records: Iterable[Mapping[str, Any]],
    talk: Talk,
    offset_s: float = 0.0,
    steps: Sequence[ClockStep] = (),
) -> list[dict[str, Any]]:
    """Copies of a talk's finals with ``start``/``end`` in seconds from the talk's scheduled
    start plus ``offset_s`` (a recording that began late), for :mod:`.exports`. A final without
    a wall time keeps its room times."""
    origin = talk.start + dt.timedelta(seconds=offset_s)
    out = []
    for record in records:
        copy = dict(record)
        when = true_spoken_at(record, steps)
        if when is not None:
            start = (when - origin).total_seconds()
            copy["start"] = round(start, 3)
            copy["end"] = round(start + _length(record), 3)
        out.append(copy)
    return out

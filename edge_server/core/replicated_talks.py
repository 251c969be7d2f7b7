"""A room's talks as it replicates them to Redis (``edge:room:{room}:talks``), and back: what
a hub needs to list the room's talks and cut its replicated finals per talk exactly as the room
does. Pure.

The document holds only the room's own talks (not the whole conference's schedule), the
per-talk offsets, the clock steps and the room's talk error. The finals in the stream carry
their attribution already (``talk``, ``clock_unsynced``, as in the transcript); finals stored
without a schedule are attributed when read, by their wall time, as on the room.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from edge_server.core.clock_steps import ClockStep
from edge_server.core.talk_listing import RoomTalks
from edge_server.core.talks import Schedule, Talk

VERSION = 1
"""The document's format; a hub refuses one it does not know rather than guess."""


class TalksDocumentError(ValueError):
    """A talks document that cannot be read; the message says why."""


def talks_document(view: RoomTalks) -> dict[str, Any]:
    """What the room writes to its talks key (JSON-ready)."""
    return {
        "version": VERSION,
        "room": view.room,
        "schedule_room": view.schedule_room,
        "loaded": view.schedule is not None,
        "error": view.error,
        "clock_synchronized": view.clock_synchronized,
        "offsets": dict(view.offsets),
        "clock_steps": [
            {"before": s.before.isoformat(), "step_s": round(s.step_s, 3)} for s in view.steps
        ],
        "talks": [talk.summary() for talk in view.talks()],
    }


def _talk(summary: Mapping[str, Any]) -> Talk:
    speakers = summary.get("speakers") or []
    start = dt.datetime.fromisoformat(str(summary["start"]))
    end = dt.datetime.fromisoformat(str(summary["end"]))
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("talk times without an offset")
    return Talk(
        id=str(summary["id"]),
        title=str(summary.get("title") or ""),
        room=str(summary["room"]),
        start=start,
        end=end,
        slug=str(summary.get("slug") or summary["id"]),
        speakers=tuple(str(s) for s in speakers),
        url=str(summary.get("url") or ""),
    )


def _step(item: Mapping[str, Any]) -> ClockStep:
    before = dt.datetime.fromisoformat(str(item["before"]))
    if before.tzinfo is None:
        before = before.replace(tzinfo=dt.UTC)
    return ClockStep(before, float(item["step_s"]))


def room_talks_of(raw: str | bytes, room: str) -> RoomTalks:
    """The :class:`RoomTalks` of a talks document, or raise :class:`TalksDocumentError`."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise TalksDocumentError(f"the talks of room {room} are not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        version = data.get("version") if isinstance(data, dict) else None
        raise TalksDocumentError(
            f"the talks of room {room} are in format {version!r}, this hub reads {VERSION}"
        )
    try:
        talks = [_talk(t) for t in data.get("talks") or []]
        steps = tuple(sorted((_step(s) for s in data.get("clock_steps") or []),
                             key=lambda s: s.before))  # fmt: skip
        offsets = {str(k): float(v) for k, v in (data.get("offsets") or {}).items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise TalksDocumentError(f"the talks of room {room} cannot be read: {exc!r}") from None
    error = data.get("error")
    synchronized = data.get("clock_synchronized")
    return RoomTalks(
        room=room,
        schedule_room=str(data.get("schedule_room") or room),
        schedule=Schedule.of(talks) if data.get("loaded") else None,
        offsets=offsets,
        steps=steps,
        error=error if isinstance(error, str) else None,
        clock_synchronized=synchronized if isinstance(synchronized, bool) else None,
    )


def no_talks(room: str) -> RoomTalks:
    """A room that replicated no talks (no schedule configured, or a server before talks were
    replicated): its finals are all ``between`` talks, as on a room without a schedule."""
    return RoomTalks(room=room, schedule_room=room, schedule=None)

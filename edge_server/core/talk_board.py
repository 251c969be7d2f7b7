"""The schedule as the server knows it now: the last good schedule, the last error reading it,
and whether the system clock can be trusted to say which talk is on. Pure: the feed that reads
the schedule and the probe that asks the kernel about the clock write into it; rooms, the status
page and ``/healthz`` read it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from edge_server.core.clock_steps import ClockStep
from edge_server.core.talk_transcripts import attribute
from edge_server.core.talks import Schedule, Talk, room_key


class TalkBoard:
    """The conference schedule (last good one kept), its errors and the clock's state."""

    def __init__(self, source: str = "") -> None:
        """``source``: the ``schedule`` setting (a file or a URL); "" for no schedule."""
        self.source = source
        self.schedule: Schedule | None = None
        self.error: str | None = None
        """Why the last attempt to read the schedule failed (None: it succeeded)."""
        self.loaded_at: str | None = None
        self.failed_at: str | None = None
        self.clock_synchronized: bool | None = None
        """The kernel's answer (None: unknown, trusted)."""
        self.clock_detail = "not checked yet"
        self.clock_steps: list[ClockStep] = []
        """Steps seen when the clock became synchronized (they date unattributed finals)."""

    @property
    def configured(self) -> bool:
        """True when a schedule is configured."""
        return bool(self.source)

    def loaded(self, schedule: Schedule, at: str) -> None:
        """A good schedule was read at ``at`` (ISO time)."""
        self.schedule = schedule
        self.error = None
        self.loaded_at = at

    def failed(self, message: str, at: str) -> bool:
        """Reading the schedule failed; the last good one stays. True when the message is new
        (log it loudly), False when it is the same failure again."""
        new = message != self.error
        self.error = message
        self.failed_at = at
        return new

    def set_clock(self, synchronized: bool | None, detail: str) -> bool:
        """The clock's state from the probe; True when it changed."""
        changed = synchronized != self.clock_synchronized
        self.clock_synchronized = synchronized
        self.clock_detail = detail
        return changed

    @property
    def clock_alarm(self) -> bool:
        """A schedule is configured and the clock is known not to be synchronized."""
        return self.configured and self.clock_synchronized is False

    def tag(self, record: dict[str, Any], schedule_room: str) -> None:
        """Mark a final with its talk before it is stored (see :func:`attribute`)."""
        attribute(record, self.schedule, schedule_room, self.clock_synchronized)

    def room_error(self, room: str, schedule_room: str) -> str | None:
        """Why ``room`` has no talk information, or None."""
        if not self.configured:
            return None
        if self.schedule is None:
            return f"no schedule loaded: {self.error or 'not read yet'}"
        if not self.schedule.has_room(schedule_room):
            return (
                f"room {room}: the schedule has no room {schedule_room!r} (compared as "
                f"{room_key(schedule_room)!r}; its rooms: {', '.join(self.schedule.rooms)}); "
                f"set schedule_room for [rooms.{room}]"
            )
        return None

    def now_and_next(self, schedule_room: str, now: dt.datetime) -> tuple[Talk | None, Talk | None]:
        """The talk running in ``schedule_room`` at ``now`` and the next one."""
        if self.schedule is None:
            return None, None
        return (
            self.schedule.talk_at(schedule_room, now),
            self.schedule.next_talk(schedule_room, now),
        )

    def room_view(self, room: str, schedule_room: str, now: dt.datetime) -> dict[str, Any] | None:
        """The room's current and next talk for screens and the status page (None: no
        schedule configured)."""
        if not self.configured:
            return None
        current, upcoming = self.now_and_next(schedule_room, now)
        return {
            "current": current.summary() if current else None,
            "next": upcoming.summary() if upcoming else None,
            "error": self.room_error(room, schedule_room),
        }

    def report(self) -> dict[str, Any]:
        """The schedule's and the clock's state for ``/healthz`` and the status page."""
        return {
            "schedule": {
                "configured": self.configured,
                "source": self.source or None,
                "loaded": self.schedule is not None,
                "talks": len(self.schedule.talks) if self.schedule else 0,
                "rooms": self.schedule.rooms if self.schedule else [],
                "loaded_at": self.loaded_at,
                "error": self.error,
                "failed_at": self.failed_at,
                "notes": list(self.schedule.notes) if self.schedule else [],
            },
            "clock": {
                "synchronized": self.clock_synchronized,
                "detail": self.clock_detail,
                "last_step_s": self.clock_steps[-1].step_s if self.clock_steps else None,
            },
        }

    def alarms(self) -> list[str]:
        """What ``/healthz`` reports as degraded."""
        alarms = []
        if self.configured and self.error is not None:
            kept = " (the last good schedule is kept)" if self.schedule is not None else ""
            alarms.append(f"schedule {self.source}: {self.error}{kept}")
        if self.clock_alarm:
            alarms.append(
                "the system clock is NOT synchronized: finals are not attributed to talks "
                f"until it is ({self.clock_detail})"
            )
        return alarms

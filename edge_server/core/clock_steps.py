"""Clock steps: how far the system clock jumped when it became synchronized, so finals stored
before (``clock_unsynced``) can be given their true wall times and attributed to talks. Pure.

The server sees the step as the change of ``wall - monotonic`` between its last look while the
clock was not synchronized and its first look once it is. A step applies to the unsynchronized
finals stored before it (by the old clock), back to the step before it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ClockStep:
    """The clock became synchronized: at ``before`` by the old clock, it moved by ``step_s``."""

    before: dt.datetime
    """The old (unsynchronized) clock's time of the last look before synchronization."""
    step_s: float
    """Seconds added to the clock (negative: it was ahead)."""

    def to_json(self) -> str:
        """One line of the steps file."""
        return json.dumps({"before": self.before.isoformat(), "step_s": round(self.step_s, 3)})


def step_seen(unsynced_offset: float, synced_offset: float, before: dt.datetime) -> ClockStep:
    """The step between two readings of ``wall - monotonic`` (seconds): the last while not
    synchronized and the first once synchronized."""
    return ClockStep(before, synced_offset - unsynced_offset)


def parse_steps(lines: Iterable[str]) -> list[ClockStep]:
    """Steps from the lines of the steps file (unreadable lines are skipped), oldest first."""
    steps = []
    for line in lines:
        try:
            data = json.loads(line)
            before = dt.datetime.fromisoformat(str(data["before"]))
            step = float(data["step_s"])
        except (ValueError, KeyError, TypeError):
            continue
        if before.tzinfo is None:
            before = before.replace(tzinfo=dt.UTC)
        steps.append(ClockStep(before, step))
    return sorted(steps, key=lambda s: s.before)


def corrected(when: dt.datetime, steps: Sequence[ClockStep]) -> dt.datetime | None:
    """The true time of ``when``, read from the clock while it was not synchronized: moved by
    the first step after it; None when no step came after it yet."""
    for step in steps:
        if when <= step.before:
            return when + dt.timedelta(seconds=step.step_s)
    return None

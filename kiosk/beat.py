"""What the kiosk watchdog decides from the page's heartbeats. Pure: times in, verdicts out.

The page counts its animation frames (``requestAnimationFrame``) in ``window.__edgeKioskBeat``;
the watchdog reads that object every few seconds (:mod:`kiosk.watchdog`). A read that comes back
with more frames than the last one is a *beat*. A hung renderer, a crashed tab or a stuck GPU
stops the frames, and so the beats.

:class:`BeatTracker` turns beats and the clock into a verdict: ``starting`` (a browser was just
started and has not beaten yet, within its grace), ``alive``, or ``stalled`` (restart it).
systemd's ``WATCHDOG=1`` is sent only while :meth:`BeatTracker.keeps_systemd_happy`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Verdict(Enum):
    """The browser's state as the watchdog sees it."""

    STARTING = "starting"
    ALIVE = "alive"
    STALLED = "stalled"


@dataclass(frozen=True)
class WatchPolicy:
    """How long the watchdog waits before it restarts the browser."""

    stall_s: float = 15.0
    """No beat for this long after the last one: the page is frozen."""
    grace_s: float = 60.0
    """A (re)started browser has this long for its first beat (cage, Chromium, the page)."""
    max_quiet_restarts: int = 3
    """Restarts in a row without a single beat before the helper gives up and exits, so that
    systemd restarts the whole unit (a fresh seat session too)."""

    def __post_init__(self) -> None:
        if not (self.stall_s > 0 and self.grace_s > 0 and self.max_quiet_restarts >= 1):
            raise ValueError(f"stall_s and grace_s must be > 0, max_quiet_restarts >= 1: {self}")


@dataclass(frozen=True)
class PageBeat:
    """One reading of ``window.__edgeKioskBeat``."""

    frames: int
    page: str
    connection: str
    ready: bool

    def describe(self) -> str:
        """One line for systemd's STATUS=."""
        if self.page == "waiting":
            return "waiting page: " + ("server answers" if self.ready else "looking for server")
        return f"{self.page} page, captions socket {self.connection}"


def parse_beat(value: Any) -> PageBeat | None:
    """The beat object the page exposes (a JSON-decoded dict), or None when the page has none
    (a browser error page, another site) or it is malformed."""
    if not isinstance(value, dict):
        return None
    frames = value.get("frames")
    page = value.get("page")
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 0:
        return None
    if not isinstance(page, str) or not page:
        return None
    connection = value.get("connection")
    return PageBeat(
        frames=frames,
        page=page[:20],
        connection=connection[:20] if isinstance(connection, str) else "none",
        ready=value.get("ready") is True,
    )


class BeatTracker:
    """The beats of one browser after another, on a monotonic clock (seconds)."""

    def __init__(self, policy: WatchPolicy) -> None:
        self.policy = policy
        self.started_at: float | None = None
        self.last_beat_at: float | None = None
        self.last_frames = -1
        self.quiet_restarts = 0
        self.crashed = False
        self.last: PageBeat | None = None

    def started(self, now: float) -> None:
        """A browser was (re)started now."""
        if self.started_at is not None and self.last_beat_at is None:
            self.quiet_restarts += 1
        elif self.last_beat_at is not None:
            self.quiet_restarts = 0
        self.started_at = now
        self.last_beat_at = None
        self.last_frames = -1
        self.crashed = False
        self.last = None

    def reading(self, now: float, beat: PageBeat | None) -> bool:
        """Record a reading of the page; True when it was a beat (more frames than before)."""
        if beat is None:
            return False
        fresh = beat.frames != self.last_frames
        self.last_frames = beat.frames
        self.last = beat
        if fresh:
            self.last_beat_at = now
        return fresh

    def crash(self) -> None:
        """The page's renderer crashed ("Aw, Snap!"): stalled at once."""
        self.crashed = True

    def verdict(self, now: float) -> Verdict:
        """Starting, alive or stalled, now."""
        if self.started_at is None or self.crashed:
            return Verdict.STALLED
        if self.last_beat_at is None:
            within = now - self.started_at < self.policy.grace_s
            return Verdict.STARTING if within else Verdict.STALLED
        if now - self.last_beat_at < self.policy.stall_s:
            return Verdict.ALIVE
        return Verdict.STALLED

    def keeps_systemd_happy(self, now: float) -> bool:
        """Send WATCHDOG=1 now? Only while the page beats, or a new browser is in its grace."""
        return self.verdict(now) is not Verdict.STALLED

    def gives_up(self) -> bool:
        """Too many restarts in a row without a beat: leave it to systemd (exit)."""
        return self.quiet_restarts >= self.policy.max_quiet_restarts

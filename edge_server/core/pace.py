"""How an embedded recognizer keeps up with real time: lag readings in, search steps out. Pure.

A recognizer on a slow CPU (one Raspberry Pi core) can fall behind the audio. It measures its
lag (how long ago the audio it is decoding now arrived) and asks :class:`PaceGovernor` which
step of its speed ladder to use: step 0 is the most accurate search, higher steps are faster and
less accurate. The governor steps down (faster) when the lag stays above ``slower_above_s`` for
``hold_slower_s``, and back up (more accurate) only after the lag stayed below
``faster_below_s`` for the longer ``hold_faster_s``, so it does not flap. At the fastest step,
a lag above ``behind_above_s`` for ``hold_slower_s`` means the room is *behind*: it says so
(status page, ``/healthz``, the kiosk) until the lag is back under ``slower_above_s``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaceRules:
    """Thresholds of the governor, in seconds of lag and of wall time."""

    slower_above_s: float = 1.0
    """Lag above this, held for ``hold_slower_s``, moves one step faster."""
    faster_below_s: float = 0.4
    """Lag below this, held for ``hold_faster_s``, moves one step more accurate."""
    hold_slower_s: float = 3.0
    """How long the lag must stay high before stepping faster (and between two such steps)."""
    hold_faster_s: float = 60.0
    """How long the lag must stay low before stepping back to a more accurate search."""
    behind_above_s: float = 3.0
    """At the fastest step, a lag above this (held for ``hold_slower_s``) is reported as
    falling behind."""

    def __post_init__(self) -> None:
        if not 0 <= self.faster_below_s < self.slower_above_s <= self.behind_above_s:
            raise ValueError("need 0 <= faster_below_s < slower_above_s <= behind_above_s")
        if self.hold_slower_s < 0 or self.hold_faster_s < 0:
            raise ValueError("hold times cannot be negative")


@dataclass(frozen=True)
class PaceDecision:
    """What the governor says after one reading."""

    step: int
    """The step to use from now on (0 = most accurate)."""
    changed: bool
    """True when ``step`` differs from the previous reading's."""
    behind: bool
    """True while even the fastest step does not keep up."""
    reason: str
    """Why the step changed or the room is behind, for the log (empty otherwise)."""


class PaceGovernor:
    """Chooses a step of a speed ladder of ``steps`` entries from lag readings."""

    def __init__(self, steps: int, rules: PaceRules | None = None, start: int = 0) -> None:
        if steps < 1 or not 0 <= start < steps:
            raise ValueError(f"need steps >= 1 and 0 <= start < steps (got {steps}, {start})")
        self.steps = steps
        self.rules = rules or PaceRules()
        self.step = start
        self.behind = False
        self.lag_s: float | None = None
        self._high_since: float | None = None
        self._low_since: float | None = None

    def observe(self, lag_s: float, now: float) -> PaceDecision:
        """One lag reading (seconds) at time ``now`` (monotonic seconds)."""
        rules = self.rules
        self.lag_s = lag_s
        previous = self.step
        reason = ""
        if lag_s > rules.slower_above_s:
            self._high_since = now if self._high_since is None else self._high_since
        else:
            self._high_since = None
        if lag_s < rules.faster_below_s:
            self._low_since = now if self._low_since is None else self._low_since
        else:
            self._low_since = None
        high_for = now - self._high_since if self._high_since is not None else -1.0
        low_for = now - self._low_since if self._low_since is not None else -1.0
        fastest = self.steps - 1
        if high_for >= rules.hold_slower_s and self.step < fastest:
            self.step += 1
            self._high_since = now  # the next step down waits a full hold again
            reason = f"lag {lag_s:.1f} s above {rules.slower_above_s:g} s for {high_for:.0f} s"
        elif low_for >= rules.hold_faster_s and self.step > 0:
            self.step -= 1
            self._low_since = now
            reason = f"lag {lag_s:.1f} s below {rules.faster_below_s:g} s for {low_for:.0f} s"
        changed = self.step != previous
        if (
            not changed
            and self.step == fastest
            and high_for >= rules.hold_slower_s
            and (lag_s > rules.behind_above_s)
        ):
            if not self.behind:
                reason = f"lag {lag_s:.1f} s at the fastest setting: falling behind"
            self.behind = True
        elif self.behind and lag_s <= rules.slower_above_s:
            self.behind = False
            reason = f"lag {lag_s:.1f} s: caught up"
        return PaceDecision(self.step, changed, self.behind, reason)

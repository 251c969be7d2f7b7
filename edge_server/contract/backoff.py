"""Retry timing: exponential backoff with jitter. Pure; the caller sleeps.

Shared by every reconnect loop (the audio uplink, cloud engines, screens follow the same
numbers in JavaScript): first delay, growth factor, cap, and "full jitter" so that many rooms
coming back after one outage do not all retry in the same instant.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class BackoffPolicy:
    """How long to wait before retry number ``attempt`` (0 = the first retry)."""

    first_s: float = 1.0
    """Delay before the first retry."""
    factor: float = 1.5
    """Each further retry waits this many times longer."""
    max_s: float = 30.0
    """No delay is longer than this."""
    jitter: float = 0.5
    """Fraction of the delay drawn at random (0: exact delays; 1: anywhere from 0 to it)."""

    def __post_init__(self) -> None:
        if self.first_s <= 0 or self.factor < 1 or self.max_s < self.first_s:
            raise ValueError("need first_s > 0, factor >= 1 and max_s >= first_s")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be within 0..1")

    def base_delay(self, attempt: int) -> float:
        """The delay before jitter."""
        exponent = min(max(attempt, 0), 64)
        return float(min(self.first_s * self.factor**exponent, self.max_s))

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The delay with jitter: uniformly within ``[base * (1 - jitter), base]``."""
        base = self.base_delay(attempt)
        draw = (rng or random).random()
        return base * (1.0 - self.jitter * draw)


@dataclass
class Backoff:
    """A retry counter over a policy: :meth:`next_delay` after a failure, :meth:`reset` after
    a success."""

    policy: BackoffPolicy = field(default_factory=BackoffPolicy)
    rng: random.Random | None = None
    attempt: int = 0

    def next_delay(self) -> float:
        """The delay before the next retry; counts the attempt."""
        delay = self.policy.delay(self.attempt, self.rng)
        self.attempt += 1
        return delay

    def reset(self) -> None:
        """Back to the first delay (call after a success)."""
        self.attempt = 0

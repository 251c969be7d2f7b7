"""When a room leaves its cloud recognizer for the embedded one, and when it comes back. Pure.

The cloud engine failing starts a grace period during which the stream is retried with
backoff. A failure that retrying cannot fix (credentials, configuration) or one that outlasts
the grace period switches the room to the fallback engine. While on the fallback, the cloud
engine is probed with a slower backoff; once a probe succeeds the room switches back at the
next pause (after a final), so no sentence is cut in two.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from edge_server.contract.backoff import BackoffPolicy


class Mode(enum.Enum):
    """Which engine the room captions with."""

    PRIMARY = "primary"
    """The configured (cloud) engine, healthy."""
    RETRYING = "retrying"
    """The primary failed; retrying it within the grace period (audio is buffered)."""
    FALLBACK = "fallback"
    """Captioning with the embedded engine; probing the primary now and then."""


@dataclass(frozen=True)
class FallbackPolicy:
    """Timing of fallback decisions."""

    grace_s: float = 10.0
    """How long the primary may keep failing before the room switches to the fallback."""
    retry: BackoffPolicy = field(default_factory=lambda: BackoffPolicy(0.5, 2.0, 4.0))
    """Delays between retries of the primary during the grace period."""
    probe: BackoffPolicy = field(default_factory=lambda: BackoffPolicy(5.0, 2.0, 60.0))
    """Delays between probes of the primary while on the fallback."""


@dataclass(frozen=True)
class Retry:
    """Try the primary again after ``delay_s``."""

    delay_s: float


@dataclass(frozen=True)
class SwitchToFallback:
    """Give up on the primary for now."""

    reason: str


Decision = Retry | SwitchToFallback


class FallbackState:
    """The decisions of one room, fed with what happened and the time it happened."""

    def __init__(self, policy: FallbackPolicy, has_fallback: bool) -> None:
        self.policy = policy
        self.has_fallback = has_fallback
        self.mode = Mode.PRIMARY
        self.failing_since: float | None = None
        self.retries = 0
        self.probes = 0

    def primary_failed(self, now: float, retryable: bool, reason: str) -> Decision:
        """The primary stream failed (or could not be opened) at ``now``."""
        if self.failing_since is None:
            self.failing_since = now
        over_grace = now - self.failing_since >= self.policy.grace_s
        if self.has_fallback and self.mode is not Mode.FALLBACK and (not retryable or over_grace):
            self.mode = Mode.FALLBACK
            self.probes = 0
            return SwitchToFallback(reason)
        if self.mode is Mode.FALLBACK:
            delay = self.policy.probe.delay(self.probes)
            self.probes += 1
            return Retry(delay)
        self.mode = Mode.RETRYING
        delay = self.policy.retry.delay(self.retries)
        self.retries += 1
        if self.has_fallback:
            delay = min(delay, max(0.0, self.failing_since + self.policy.grace_s - now) + 0.01)
        return Retry(delay)

    def primary_ok(self) -> None:
        """The primary answered (a stream opened, or results arrived)."""
        self.mode = Mode.PRIMARY
        self.failing_since = None
        self.retries = 0
        self.probes = 0

    def next_probe_delay(self) -> float:
        """Delay before the next probe of the primary while on the fallback."""
        delay = self.policy.probe.delay(self.probes)
        self.probes += 1
        return delay

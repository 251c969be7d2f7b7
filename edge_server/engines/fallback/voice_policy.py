"""When a room's listeners hear the local voice instead of the cloud one, and when the cloud
voice comes back. Pure.

Speech is decided one sentence at a time, so the decisions differ from the recognizer's
(:mod:`.policy`): a sentence whose cloud synthesis fails before any audio is retried on the
cloud voice during a grace period, then spoken by the local voice; one that fails after its
audio began is not spoken again (it would be heard twice). While on the local voice the cloud
one is probed with a slower backoff; once a probe answers, the next sentences try the cloud
voice again "on probation": a failure then goes straight back to the local voice (no second
grace of silence), and only a sentence spoken in full ends the probation.

The state is the room's (the cloud voice is down for every language at once); whether the local
voice can speak a language is asked per sentence, so a language it cannot speak stays silent
(:class:`GiveUp`) while the others are spoken.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from edge_server.contract.backoff import BackoffPolicy


class VoiceMode(enum.Enum):
    """Which voice speaks the room's next sentences."""

    PRIMARY = "primary"
    """The configured (cloud) voice, healthy."""
    RETRYING = "retrying"
    """The cloud voice failed; sentences retry it until the grace period ends."""
    FALLBACK = "fallback"
    """The local voice speaks; the cloud voice is probed now and then."""
    PROBATION = "probation"
    """A probe answered: the cloud voice speaks again, and goes back to the local one at its
    first failure."""


@dataclass(frozen=True)
class VoiceFallbackPolicy:
    """Timing of voice fallback decisions."""

    grace_s: float = 5.0
    """How long the cloud voice may keep failing before the local voice speaks instead."""
    retry: BackoffPolicy = field(default_factory=lambda: BackoffPolicy(0.5, 2.0, 2.0))
    """Delays between retries of a sentence on the cloud voice during the grace period."""
    probe: BackoffPolicy = field(default_factory=lambda: BackoffPolicy(5.0, 2.0, 60.0))
    """Delays between probes of the cloud voice while the local one speaks."""
    min_attempt_s: float = 1.0
    """The shortest wait for a cloud sentence's first audio, even at the end of the grace."""

    def __post_init__(self) -> None:
        if self.grace_s < 0 or self.min_attempt_s <= 0:
            raise ValueError("grace_s must be >= 0 and min_attempt_s > 0")


@dataclass(frozen=True)
class TryPrimary:
    """Speak the sentence with the cloud voice, waiting at most ``timeout_s`` for its first
    audio (so a hanging connection cannot outlast the grace period)."""

    timeout_s: float


@dataclass(frozen=True)
class RetryPrimary:
    """Wait ``delay_s``, then ask again (the sentence is kept)."""

    delay_s: float


@dataclass(frozen=True)
class UseFallback:
    """Speak the sentence with the local voice; ``switched``: this decision left the cloud."""

    reason: str
    switched: bool = False


@dataclass(frozen=True)
class GiveUp:
    """Nobody can speak the sentence now: it stays silent, and ``reason`` says why."""

    reason: str
    switched: bool = False


Choice = TryPrimary | UseFallback | GiveUp
AfterFailure = RetryPrimary | UseFallback | GiveUp


class VoiceFallbackState:
    """The voice decisions of one room, fed with what happened and when."""

    def __init__(self, policy: VoiceFallbackPolicy) -> None:
        self.policy = policy
        self.mode = VoiceMode.PRIMARY
        self.failing_since: float | None = None
        self.retries = 0
        self.probes = 0
        self.reason = ""
        """Why the cloud voice is not used (the failure that made the room switch)."""

    def choose(self, now: float, fallback_speaks: bool) -> Choice:
        """Which voice speaks a sentence now; ``fallback_speaks``: the local voice has this
        sentence's language."""
        if self.mode is VoiceMode.FALLBACK:
            return self._fallback(fallback_speaks)
        if self.failing_since is None or self.mode is VoiceMode.PROBATION:
            return TryPrimary(max(self.policy.grace_s, self.policy.min_attempt_s))
        left = self.failing_since + self.policy.grace_s - now
        return TryPrimary(max(left, self.policy.min_attempt_s))

    def primary_failed(
        self,
        now: float,
        retryable: bool,
        reason: str,
        fallback_speaks: bool,
        attempt_started: float | None = None,
    ) -> AfterFailure:
        """The cloud voice failed a sentence at ``now`` before any of its audio; the outage
        counts from ``attempt_started`` when given (a timeout is a failure that began then)."""
        if self.mode is VoiceMode.FALLBACK:  # another language switched meanwhile
            return self._fallback(fallback_speaks)
        if self.failing_since is None:
            self.failing_since = now if attempt_started is None else min(attempt_started, now)
        over_grace = now - self.failing_since >= self.policy.grace_s
        if not retryable or over_grace or self.mode is VoiceMode.PROBATION:
            if self.mode is not VoiceMode.PROBATION:
                self.probes = 0  # a new outage; a failed probation keeps the probe backoff
            self.mode = VoiceMode.FALLBACK
            self.reason = reason
            if fallback_speaks:
                return UseFallback(reason, switched=True)
            return GiveUp(self._silent(reason), switched=True)
        self.mode = VoiceMode.RETRYING
        delay = self.policy.retry.delay(self.retries)
        self.retries += 1
        left = self.failing_since + self.policy.grace_s - now
        return RetryPrimary(min(delay, max(0.0, left) + 0.01))

    def primary_cut(self, now: float, reason: str) -> bool:
        """The cloud voice failed in the middle of a sentence (that sentence is not repeated):
        counted like a failure, so the next sentences retry or switch. True if this switched."""
        if self.mode is VoiceMode.PROBATION:
            self.mode, self.reason = VoiceMode.FALLBACK, reason
            return True
        if self.mode is not VoiceMode.FALLBACK:
            self.mode = VoiceMode.RETRYING
            if self.failing_since is None:
                self.failing_since = now
        return False

    def primary_ok(self) -> None:
        """The cloud voice spoke a whole sentence."""
        if self.mode is VoiceMode.FALLBACK:
            return  # a sentence begun before the switch; the probe decides the way back
        self.mode = VoiceMode.PRIMARY
        self.failing_since = None
        self.retries = 0
        self.probes = 0
        self.reason = ""

    def next_probe_delay(self) -> float:
        """Delay before the next probe of the cloud voice while on the local one."""
        delay = self.policy.probe.delay(self.probes)
        self.probes += 1
        return delay

    def probe_ok(self) -> bool:
        """A probe answered: the next sentences try the cloud voice. True if this switched."""
        if self.mode is not VoiceMode.FALLBACK:
            return False
        self.mode = VoiceMode.PROBATION
        self.failing_since = None
        self.retries = 0
        return True

    def _fallback(self, fallback_speaks: bool) -> UseFallback | GiveUp:
        if fallback_speaks:
            return UseFallback(self.reason)
        return GiveUp(self._silent(self.reason))

    @staticmethod
    def _silent(reason: str) -> str:
        return f"{reason}; the local voice cannot speak this language"

"""Voice fallback decisions (pure), as tables of events over time."""

from __future__ import annotations

import pytest

from edge_server.contract.backoff import BackoffPolicy
from edge_server.engines.fallback.voice_policy import (
    GiveUp,
    RetryPrimary,
    TryPrimary,
    UseFallback,
    VoiceFallbackPolicy,
    VoiceFallbackState,
    VoiceMode,
)

EXACT = VoiceFallbackPolicy(
    grace_s=5.0,
    retry=BackoffPolicy(1.0, 2.0, 2.0, jitter=0.0),
    probe=BackoffPolicy(5.0, 2.0, 60.0, jitter=0.0),
    min_attempt_s=1.0,
)

# Events: ("fail", now, retryable, local voice speaks the language) -> the decision after a
# failure before any audio; ("choose", now, speaks) -> the voice of the next attempt;
# ("ok",) a whole sentence spoken by the cloud; ("cut", now) a failure after audio began;
# ("probe",) a probe answered.
CASES = [
    pytest.param(
        [("choose", 0.0, True), ("fail", 0.0, True, True), ("choose", 1.0, True),
         ("fail", 1.0, True, True), ("choose", 3.0, True), ("fail", 3.0, True, True),
         ("fail", 4.5, True, True), ("fail", 5.0, True, True), ("choose", 6.0, True)],
        [TryPrimary(5.0), RetryPrimary(1.0), TryPrimary(4.0), RetryPrimary(2.0),
         TryPrimary(2.0), RetryPrimary(2.0), RetryPrimary(0.51), UseFallback("x", True),
         UseFallback("x")],
        VoiceMode.FALLBACK,
        id="retried-within-the-grace-then-the-local-voice",
    ),
    pytest.param(
        [("fail", 0.0, False, True), ("choose", 0.1, True)],
        [UseFallback("x", True), UseFallback("x")],
        VoiceMode.FALLBACK,
        id="a-failure-retrying-cannot-fix-switches-at-once",
    ),
    pytest.param(
        [("fail", 0.0, False, False), ("choose", 1.0, False), ("choose", 1.0, True)],
        [GiveUp("x; the local voice cannot speak this language", True),
         GiveUp("x; the local voice cannot speak this language"), UseFallback("x")],
        VoiceMode.FALLBACK,
        id="a-language-the-local-voice-lacks-stays-silent-others-are-spoken",
    ),
    pytest.param(
        [("choose", 4.9, True), ("fail", 0.0, True, True), ("choose", 4.9, True)],
        [TryPrimary(5.0), RetryPrimary(1.0), TryPrimary(1.0)],
        VoiceMode.RETRYING,
        id="an-attempt-never-waits-less-than-the-minimum",
    ),
    pytest.param(
        [("fail", 0.0, True, True), ("ok",), ("fail", 10.0, True, True)],
        [RetryPrimary(1.0), None, RetryPrimary(1.0)],
        VoiceMode.RETRYING,
        id="a-sentence-spoken-ends-the-outage-a-new-one-gets-a-new-grace",
    ),
    pytest.param(
        [("fail", 0.0, False, True), ("probe",), ("choose", 20.0, True),
         ("fail", 20.0, True, True), ("choose", 20.1, True)],
        [UseFallback("x", True), True, TryPrimary(5.0), UseFallback("x", True),
         UseFallback("x")],
        VoiceMode.FALLBACK,
        id="after-a-probe-the-first-failure-goes-straight-back",
    ),
    pytest.param(
        [("fail", 0.0, False, True), ("probe",), ("ok",), ("fail", 30.0, True, True)],
        [UseFallback("x", True), True, None, RetryPrimary(1.0)],
        VoiceMode.RETRYING,
        id="a-whole-sentence-after-a-probe-ends-the-probation",
    ),
    pytest.param(
        [("cut", 0.0), ("choose", 2.0, True), ("fail", 5.0, True, True)],
        [False, TryPrimary(3.0), UseFallback("x", True)],
        VoiceMode.FALLBACK,
        id="a-cut-sentence-counts-as-a-failure",
    ),
    pytest.param(
        [("fail", 0.0, False, True), ("probe",), ("cut", 9.0)],
        [UseFallback("x", True), True, True],
        VoiceMode.FALLBACK,
        id="a-cut-on-probation-goes-back",
    ),
    pytest.param(
        [("fail", 0.0, False, True), ("fail", 0.5, True, True), ("ok",), ("probe",),
         ("probe",)],
        [UseFallback("x", True), UseFallback("x"), None, True, False],
        VoiceMode.PROBATION,
        id="late-results-of-other-languages-do-not-move-the-room",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("events", "expected", "mode"), CASES)
def test_decisions(events: list[tuple[object, ...]], expected: list[object], mode: VoiceMode):
    state = VoiceFallbackState(EXACT)
    got: list[object] = []
    for event in events:
        kind = event[0]
        if kind == "choose":
            got.append(state.choose(event[1], event[2]))  # type: ignore[arg-type]
        elif kind == "fail":
            got.append(state.primary_failed(event[1], event[2], "x", event[3]))  # type: ignore[arg-type]
        elif kind == "ok":
            got.append(state.primary_ok())
        elif kind == "cut":
            got.append(state.primary_cut(event[1], "x"))  # type: ignore[arg-type]
        else:
            got.append(state.probe_ok())
    assert got == expected
    assert state.mode is mode


def test_probes_back_off_and_a_failed_probation_keeps_the_backoff() -> None:
    state = VoiceFallbackState(EXACT)
    state.primary_failed(0.0, False, "down", True)
    assert [state.next_probe_delay() for _ in range(3)] == [5.0, 10.0, 20.0]
    state.probe_ok()
    state.primary_failed(100.0, True, "down again", True)
    assert state.mode is VoiceMode.FALLBACK
    assert state.next_probe_delay() == 40.0  # a flapping cloud is asked less and less often
    state.probe_ok()
    state.primary_ok()  # a whole sentence: healthy again, everything reset
    state.primary_failed(200.0, False, "x", True)
    assert state.next_probe_delay() == 5.0


def test_a_hanging_attempt_counts_from_when_it_began() -> None:
    state = VoiceFallbackState(EXACT)
    assert state.choose(0.0, True) == TryPrimary(5.0)
    # No first audio in 5 s: the outage began when the attempt did, the grace is over.
    assert state.primary_failed(5.0, True, "timeout", True, attempt_started=0.0) == UseFallback(
        "timeout", True
    )


def test_zero_grace_switches_at_the_first_failure() -> None:
    state = VoiceFallbackState(VoiceFallbackPolicy(grace_s=0.0))
    assert state.choose(0.0, True) == TryPrimary(1.0)  # still waits for first audio a while
    assert state.primary_failed(0.0, True, "x", True) == UseFallback("x", True)


def test_the_reason_is_the_failure_that_switched() -> None:
    state = VoiceFallbackState(EXACT)
    state.primary_failed(0.0, True, "first", True)
    state.primary_failed(6.0, True, "Amazon Polly: service unavailable", True)
    assert state.reason == "Amazon Polly: service unavailable"
    assert state.choose(7.0, True) == UseFallback("Amazon Polly: service unavailable")


def test_bad_policies_are_refused() -> None:
    with pytest.raises(ValueError, match="grace_s"):
        VoiceFallbackPolicy(grace_s=-1.0)
    with pytest.raises(ValueError, match="min_attempt_s"):
        VoiceFallbackPolicy(min_attempt_s=0.0)

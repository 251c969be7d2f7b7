"""Fallback decisions (pure), as a table of events over time."""

from __future__ import annotations

import random

import pytest

from edge_server.contract.backoff import BackoffPolicy
from edge_server.engines.fallback.policy import (
    FallbackPolicy,
    FallbackState,
    Mode,
    Retry,
    SwitchToFallback,
)

EXACT = FallbackPolicy(
    grace_s=10.0,
    retry=BackoffPolicy(1.0, 2.0, 4.0, jitter=0.0),
    probe=BackoffPolicy(5.0, 2.0, 60.0, jitter=0.0),
)


@pytest.mark.parametrize(
    ("events", "decisions", "mode"),
    [
        # retryable failures: retry with growing delays, then give up at the grace period
        (
            [(0.0, True), (1.0, True), (3.0, True), (7.0, True), (10.5, True)],
            [Retry(1.0), Retry(2.0), Retry(4.0), Retry(3.01), SwitchToFallback("x")],
            Mode.FALLBACK,
        ),
        # a failure that retrying cannot fix (credentials) switches at once
        ([(0.0, False)], [SwitchToFallback("x")], Mode.FALLBACK),
        # once on the fallback, further failures are probes with their own backoff
        (
            [(0.0, False), (5.0, True), (15.0, True)],
            [SwitchToFallback("x"), Retry(5.0), Retry(10.0)],
            Mode.FALLBACK,
        ),
    ],
)
def test_decisions(events: list[tuple[float, bool]], decisions: list[object], mode: Mode) -> None:
    state = FallbackState(EXACT, has_fallback=True)
    got = [state.primary_failed(now, retryable, "x") for now, retryable in events]
    assert got == decisions
    assert state.mode is mode


def test_recovery_resets_everything() -> None:
    state = FallbackState(EXACT, has_fallback=True)
    state.primary_failed(0.0, True, "x")
    state.primary_failed(11.0, True, "x")
    assert state.mode is Mode.FALLBACK
    state.primary_ok()
    assert state.mode is Mode.PRIMARY
    # A new outage gets a whole new grace period.
    assert state.primary_failed(100.0, True, "x") == Retry(1.0)
    assert state.mode is Mode.RETRYING


def test_without_fallback_it_retries_forever() -> None:
    state = FallbackState(EXACT, has_fallback=False)
    delays = [state.primary_failed(float(t), False, "x") for t in range(0, 100, 10)]
    assert all(isinstance(d, Retry) for d in delays)
    assert delays[-1] == Retry(4.0)
    assert state.mode is Mode.RETRYING


def test_probe_delays_grow_and_cap() -> None:
    state = FallbackState(EXACT, has_fallback=True)
    assert [state.next_probe_delay() for _ in range(6)] == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0]


def test_default_policy_has_jitter() -> None:
    policy = FallbackPolicy()
    rng = random.Random(1)
    assert len({round(policy.retry.delay(3, rng), 6) for _ in range(20)}) > 10

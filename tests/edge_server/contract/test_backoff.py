"""Backoff policy (pure)."""

from __future__ import annotations

import random

import pytest

from edge_server.contract.backoff import Backoff, BackoffPolicy


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [(0, 1.0), (1, 1.5), (2, 2.25), (3, 3.375), (8, 25.62890625), (9, 30.0), (500, 30.0)],
)
def test_base_delays_grow_then_cap(attempt: int, expected: float) -> None:
    assert BackoffPolicy().base_delay(attempt) == pytest.approx(expected)


def test_jitter_stays_within_bounds_and_varies() -> None:
    policy = BackoffPolicy(jitter=0.5)
    rng = random.Random(7)
    delays = [policy.delay(4, rng) for _ in range(200)]
    base = policy.base_delay(4)
    assert all(base * 0.5 <= d <= base for d in delays)
    assert len({round(d, 6) for d in delays}) > 150


def test_counter_resets() -> None:
    backoff = Backoff(BackoffPolicy(jitter=0.0))
    assert [backoff.next_delay() for _ in range(3)] == [1.0, 1.5, 2.25]
    backoff.reset()
    assert backoff.next_delay() == 1.0


@pytest.mark.parametrize(
    "kwargs",
    [{"first_s": 0}, {"factor": 0.5}, {"max_s": 0.5}, {"jitter": 1.5}, {"jitter": -0.1}],
)
def test_invalid_policies(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each message is specific enough
        BackoffPolicy(**kwargs)

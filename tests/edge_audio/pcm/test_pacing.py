"""Pacer: how long to sleep for a given speed, audio sent and time elapsed."""

from __future__ import annotations

import math

import pytest

from edge_audio.pcm.pacing import Pacer


@pytest.mark.parametrize(
    ("speed", "audio", "elapsed", "expected"),
    [
        (0, 10.0, 0.0, 0.0),
        (0, 0.0, 5.0, 0.0),
        (1.0, 1.0, 0.3, 0.7),
        (1.0, 1.0, 1.0, 0.0),
        (1.0, 1.0, 1.5, 0.0),
        (1.0, 0.1, 0.0, 0.1),
        (2.0, 1.0, 0.2, 0.3),
        (0.5, 1.0, 0.5, 1.5),
        (10.0, 60.0, 5.0, 1.0),
    ],
)
def test_delay(speed, audio, elapsed, expected):
    assert Pacer(speed).delay(audio, elapsed) == pytest.approx(expected)


@pytest.mark.parametrize("speed", [-1.0, -0.01, math.nan, math.inf])
def test_invalid_speed(speed):
    with pytest.raises(ValueError, match="speed"):
        Pacer(speed)


@pytest.mark.parametrize(("speed", "expected_total"), [(1.0, 1.0), (2.0, 0.5), (0.5, 2.0)])
def test_simulated_stream_takes_audio_over_speed(speed, expected_total):
    """Ten 100 ms frames with a fake clock, each send taking 5 ms, wake-ups 3 ms late."""
    pacer, clock, sent = Pacer(speed), 0.0, 0.0
    for _ in range(10):
        clock += 0.005  # sending
        sent += 0.1
        wait = pacer.delay(sent, clock)
        if wait > 0:
            clock += wait + 0.003  # oversleep
    assert clock == pytest.approx(expected_total, abs=0.01)


def test_late_wake_ups_do_not_accumulate():
    pacer, clock, sent = Pacer(1.0), 0.0, 0.0
    for _ in range(100):
        sent += 0.02
        wait = pacer.delay(sent, clock)
        clock += wait + 0.004 if wait > 0 else 0.0
    assert clock == pytest.approx(2.0, abs=0.01)

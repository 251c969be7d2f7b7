"""Resend in flight, the node's side (pure): what was sent is kept, bounded, and offered again
only to a server that has the stream."""

from __future__ import annotations

import pytest

from edge_audio.link.buffer import Positioned
from edge_audio.link.history import SentHistory, plan_resend
from tests.helpers.recording_engine import ramp

STREAM = "0123456789abcdef"


def sent(*positions: int, size: int = 3200) -> list[Positioned]:
    return [(p, b"\0" * size) for p in positions]


def test_history_keeps_the_newest_frames_within_its_bound() -> None:
    history = SentHistory(3 * 3200)
    for position, frame in sent(0, 1600, 3200, 4800, 6400):
        history.record(position, frame)
    assert len(history) == 3
    assert history.seconds == pytest.approx(0.3)
    assert history.end == 6400 + 1600
    assert [p for p, _ in history.take()] == [3200, 4800, 6400]
    assert history.take() == []
    assert (history.seconds, history.end) == (0.0, None)


def test_a_zero_history_keeps_nothing() -> None:
    history = SentHistory(0)
    history.record(0, b"\0" * 3200)
    assert history.take() == []
    with pytest.raises(ValueError, match="negative"):
        SentHistory(-1)


@pytest.mark.parametrize(
    ("echoed", "received", "positions", "resent"),
    [
        # An older server: no positions, nothing resent (it would recognize it twice).
        (None, None, False, []),
        ("another-stream-id", 1600, False, []),
        # A server that has none of this stream (it restarted, or never got a frame): the
        # buffered audio only, as before; what it finalized before a restart is not repeated.
        (STREAM, None, True, []),
        # A server that has this stream: all of the history; it drops what it had.
        (STREAM, 3200, True, [0, 1600, 3200]),
        (STREAM, 0, True, [0, 1600, 3200]),
    ],
)
def test_plan_resend(
    echoed: str | None, received: int | None, positions: bool, resent: list[int]
) -> None:
    plan = plan_resend(sent(0, 1600, 3200), STREAM, echoed, received)
    assert plan.positions is positions
    assert [p for p, _ in plan.resend] == resent
    assert plan.why


@pytest.mark.parametrize(
    ("finalized", "resent"),
    [
        # A server that restarted: what follows the last final the node saw, cut to the sample.
        (3200, [(3200, 1600)]),
        (2400, [(2400, 800), (3200, 1600)]),
        (0, [(0, 1600), (1600, 1600), (3200, 1600)]),
        (4800, []),  # everything sent was finalized
        (9999, []),
    ],
)
def test_plan_resend_to_a_server_that_restarted(
    finalized: int, resent: list[tuple[int, int]]
) -> None:
    history = [(p, ramp(p, 1600)) for p in (0, 1600, 3200)]
    plan = plan_resend(history, STREAM, STREAM, None, finalized)
    assert plan.positions
    assert [(p, len(frame) // 2) for p, frame in plan.resend] == resent
    for position, frame in plan.resend:  # a cut frame keeps its own samples: its tail
        assert frame == ramp(position, len(frame) // 2)


def test_a_known_stream_gets_the_whole_history_whatever_was_finalized() -> None:
    plan = plan_resend(sent(0, 1600, 3200), STREAM, STREAM, 3000, finalized=3200)
    assert [p for p, _ in plan.resend] == [0, 1600, 3200]


def test_plan_with_an_empty_history() -> None:
    plan = plan_resend([], STREAM, STREAM, 4800)
    assert (plan.positions, plan.resend) == (True, [])
    assert "4800" in plan.why

"""Placing resent audio of a positioned stream (pure, table-driven)."""

from __future__ import annotations

import pytest

from edge_server.core.room_clock import RoomClock
from edge_server.core.stream_positions import Placement, StreamLedger, place_frame


@pytest.mark.parametrize(
    ("known_end", "position", "samples", "expected"),
    [
        # A stream the room does not know (new node process, restarted server): all of it.
        (None, 0, 1600, Placement(keep_from=0, lost=0, end=1600, samples=1600)),
        (None, 48000, 1600, Placement(keep_from=0, lost=0, end=49600, samples=1600)),
        # Follows on exactly: all new.
        (1600, 1600, 1600, Placement(keep_from=0, lost=0, end=3200, samples=1600)),
        # Resent, wholly received before: nothing new, the end stays.
        (3200, 0, 1600, Placement(keep_from=1600, lost=0, end=3200, samples=1600)),
        (3200, 1600, 1600, Placement(keep_from=1600, lost=0, end=3200, samples=1600)),
        # Straddles the end: the tail is new.
        (2000, 1600, 1600, Placement(keep_from=400, lost=0, end=3200, samples=1600)),
        (3199, 1600, 1600, Placement(keep_from=1599, lost=0, end=3200, samples=1600)),
        # Starts past the end: the node lost audio in between; the timeline moves on.
        (1600, 4800, 1600, Placement(keep_from=0, lost=3200, end=6400, samples=1600)),
        # An empty frame changes nothing.
        (1600, 1600, 0, Placement(keep_from=0, lost=0, end=1600, samples=0)),
    ],
)
def test_place_frame(
    known_end: int | None, position: int, samples: int, expected: Placement
) -> None:
    placed = place_frame(known_end, position, samples)
    assert placed == expected
    assert placed.new == samples - expected.keep_from


def test_negative_positions_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        place_frame(0, -1, 10)
    with pytest.raises(ValueError, match="negative"):
        place_frame(0, 0, -10)


def test_a_resend_in_frames_recognizes_each_sample_once() -> None:
    """The room had 0..5000; the node resends 10 frames of 800 from 1600: 5000..9600 is new,
    in order, and nothing twice."""
    end: int | None = 5000
    kept: list[range] = []
    for position in range(1600, 9600, 800):
        placed = place_frame(end, position, 800)
        assert placed.lost == 0
        kept.append(range(position + placed.keep_from, position + 800))
        end = placed.end
    samples = [s for part in kept for s in part]
    assert samples == list(range(5000, 9600))


def test_ledger_remembers_each_stream_and_forgets_the_oldest() -> None:
    ledger = StreamLedger(max_streams=2)
    assert ledger.end("a") is None
    ledger.heard("a", 100)
    ledger.heard("a", 50)  # never goes back
    assert ledger.end("a") == 100
    ledger.heard("b", 10)
    ledger.heard("a", 200)  # a is now the most recent
    ledger.heard("c", 5)
    assert (ledger.end("a"), ledger.end("b"), ledger.end("c")) == (200, None, 5)
    assert len(ledger) == 2
    with pytest.raises(ValueError, match="positive"):
        StreamLedger(0)


def test_a_new_clock_knows_no_stream() -> None:
    """A restarted server starts with no memory of positions: every stream is accepted."""
    clock = RoomClock(next_segment=7, timeline=120.0)
    assert clock.streams.end("any-stream") is None

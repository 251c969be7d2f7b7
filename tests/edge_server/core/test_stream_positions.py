"""Placing resent audio of a positioned stream (pure, table-driven)."""

from __future__ import annotations

import pytest

from edge_server.core.room_clock import RoomClock
from edge_server.core.stream_positions import (
    Placement,
    StreamLedger,
    ledger_from_records,
    place_frame,
    stream_mark,
    without_stream_fields,
)


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
    """A clock without a ledger (no transcript, or one without positions) accepts every
    stream; one built with the ledger rebuilt from the transcript knows its streams."""
    clock = RoomClock(next_segment=7, timeline=120.0)
    assert clock.streams.end("any-stream") is None
    rebuilt = RoomClock(7, 120.0, ledger_from_records([{"stream": "a", "stream_end": 900}]))
    assert rebuilt.streams.end("a") == 900


def _final(segment: int, stream: object = None, end: object = None) -> dict[str, object]:
    record: dict[str, object] = {"segment": segment, "text": f"w{segment}"}
    if stream is not None:
        record["stream"] = stream
    if end is not None:
        record["stream_end"] = end
    return record


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        # No transcript, or one from before positions were stored: nothing known.
        ([], {}),
        ([_final(1), _final(2)], {}),
        # One stream: its latest end.
        ([_final(1, "a", 16000), _final(2, "a", 40000)], {"a": 40000}),
        # Old records then positioned ones (an upgraded server).
        ([_final(1), _final(2, "a", 8000)], {"a": 8000}),
        # A stream's ends never go back (out-of-order lines, a clamped end).
        ([_final(1, "a", 40000), _final(2, "a", 16000)], {"a": 40000}),
        # Two nodes (a takeover, a node restart): each its own end.
        (
            [_final(1, "a", 16000), _final(2, "b", 3200), _final(3, "a", 48000)],
            {"a": 48000, "b": 3200},
        ),
        # Finals of an unpositioned source in between change nothing.
        ([_final(1, "a", 16000), _final(2), _final(3)], {"a": 16000}),
        # Damaged or foreign marks are skipped, never guessed at.
        ([_final(1, "a", -5)], {}),
        ([_final(1, "a", 12.5)], {}),
        ([_final(1, "a", True)], {}),
        ([_final(1, "a", "16000")], {}),
        ([_final(1, "", 16000)], {}),
        ([_final(1, 7, 16000)], {}),
        ([_final(1, "a")], {}),
        ([_final(1, None, 16000)], {}),
        ([_final(1, "a", 0)], {"a": 0}),
    ],
)
def test_ledger_from_records(records: list[dict[str, object]], expected: dict[str, int]) -> None:
    ledger = ledger_from_records(records)
    assert len(ledger) == len(expected)
    for stream, end in expected.items():
        assert ledger.end(stream) == end


def test_the_rebuilt_ledger_keeps_the_most_recent_streams() -> None:
    """Beyond ``max_streams``, the streams whose finals are oldest in the transcript go."""
    records = [_final(1, "a", 100), _final(2, "b", 200), _final(3, "c", 300)]
    records.append(_final(4, "a", 400))  # a is recent again
    ledger = ledger_from_records(records, max_streams=2)
    assert (ledger.end("a"), ledger.end("b"), ledger.end("c")) == (400, None, 300)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"stream": "a", "stream_end": 3}, ("a", 3)),
        ({"stream": "a"}, None),
        ({"stream_end": 3}, None),
        ({}, None),
    ],
)
def test_stream_mark(record: dict[str, object], expected: tuple[str, int] | None) -> None:
    assert stream_mark(record) == expected


def test_without_stream_fields() -> None:
    plain = {"segment": 1, "text": "w1"}
    assert without_stream_fields(plain) is plain
    marked = {**plain, "stream": "a", "stream_end": 9}
    assert without_stream_fields(marked) == plain
    assert marked["stream_end"] == 9  # the record itself is left alone

"""A room's clock (edge_server.core.room_clock): segment ids and timeline across sessions."""

from __future__ import annotations

from edge_server.core.room_clock import RoomClock


def test_starts_where_the_transcript_ended() -> None:
    clock = RoomClock(next_segment=42, timeline=1234.5)
    assert (clock.next_segment, clock.timeline) == (42, 1234.5)
    assert (RoomClock().next_segment, RoomClock().timeline) == (1, 0.0)


def test_segment_ids_never_go_back() -> None:
    clock = RoomClock(next_segment=5)
    clock.segments_used(8)
    assert clock.next_segment == 8
    clock.segments_used(6)  # a session that started earlier reports a lower id: ignored
    assert clock.next_segment == 8


def test_timeline_moves_with_audio_skips_and_settles_on_the_stored_end() -> None:
    clock = RoomClock(timeline=10.0)
    clock.heard(10.5)
    clock.heard(10.2)  # never back
    assert clock.timeline == 10.5
    clock.skip(2.0)  # a node dropped two seconds while away
    assert clock.timeline == 12.5
    clock.skip(-1.0)  # nonsense is ignored
    assert clock.timeline == 12.5
    clock.settle(12.0)  # the last final ends before: nothing changes
    assert clock.timeline == 12.5
    clock.settle(13.25)  # the recognizer finalized up to here
    assert clock.timeline == 13.25

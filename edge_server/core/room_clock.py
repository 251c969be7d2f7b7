"""A room's clock: the id of its next caption segment and its timeline. Pure.

Segment ids increase within a room and are never reused, even across restarts; the timeline
counts the seconds of audio the room has heard, across sessions and restarts, plus audio a node
reported dropping while it was away. Both start from the transcript on disk. The room owns the
clock; an audio session moves it only through these methods.

The clock also remembers how far the room has heard each recent node stream
(:class:`~edge_server.core.stream_positions.StreamLedger`), so audio a reconnecting node sends
again is not recognized twice. After a restart it starts from the transcript: how far each
recent stream's finals on disk go
(:func:`~edge_server.core.stream_positions.ledger_from_records`); audio received but not
finalized before the restart is taken again.
"""

from __future__ import annotations

from edge_server.core.stream_positions import StreamLedger


class RoomClock:
    """Where the next segment id and the next second of audio go."""

    def __init__(
        self,
        next_segment: int = 1,
        timeline: float = 0.0,
        streams: StreamLedger | None = None,
    ) -> None:
        """``streams``: the ledger rebuilt from the transcript (default: no stream known)."""
        self._next_segment = next_segment
        self._timeline = timeline
        self.streams = streams if streams is not None else StreamLedger()
        """Where each recent positioned stream's received audio ends."""

    @property
    def next_segment(self) -> int:
        """The id the next caption segment gets."""
        return self._next_segment

    @property
    def timeline(self) -> float:
        """Seconds of audio the room has heard (or skipped) so far."""
        return self._timeline

    def segments_used(self, next_segment: int) -> None:
        """Ids below ``next_segment`` are taken (a session opened segments up to it)."""
        self._next_segment = max(self._next_segment, next_segment)

    def heard(self, timeline: float) -> None:
        """Audio arrived up to ``timeline`` (the clock never goes back)."""
        self._timeline = max(self._timeline, timeline)

    def skip(self, seconds: float) -> None:
        """A node reported ``seconds`` of audio it had to drop: the timeline moves on by that."""
        self._timeline += max(0.0, seconds)

    def settle(self, stored_end: float) -> None:
        """After a session: the timeline is at least the end of the last stored final."""
        self._timeline = max(self._timeline, stored_end)

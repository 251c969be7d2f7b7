"""Where a node's audio stream stands in a room: what to recognize of a resent frame. Pure.

A node that names its stream (``hello.stream``) tells the position of its audio: the sample
index, counted from the start of that stream, of each frame's first sample. After a reconnect
it sends the last few seconds again (they may have died in flight). The room remembers, per
stream, where the audio it has recognized ends (:class:`StreamLedger`, held by the
:class:`~edge_server.core.room_clock.RoomClock`), and :func:`place_frame` decides for each
frame what is new: the part already received is dropped, the rest recognized, and a jump
forward (audio the node lost while away) moves the room's timeline on by its length.

A stream the room does not know (a new node process, or a server that restarted with no final
of it on disk) is accepted whole. See ``docs/protocol.md``.

Each final written to the transcript carries the stream it came from and the sample where its
audio ends (:data:`STREAM_FIELD`, :data:`STREAM_END_FIELD`): after a restart
:func:`ledger_from_records` rebuilds the ledger from the transcript's finals, so audio already
finalized on disk is dropped when the node sends it again. The fields are internal
(:func:`without_stream_fields` takes them off for screens and exports).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_STREAMS = 8
"""Streams a room remembers (the most recent ones): one node reconnecting, another taking over
in between, and a few node restarts."""

STREAM_FIELD = "stream"
"""Transcript record field: the id of the node stream whose audio made the final."""
STREAM_END_FIELD = "stream_end"
"""Transcript record field: the sample of that stream where the final's audio ends."""
STREAM_FIELDS = (STREAM_FIELD, STREAM_END_FIELD)


@dataclass(frozen=True)
class Placement:
    """What to do with one frame of a positioned stream (all counts in samples)."""

    keep_from: int
    """Samples at the frame's start to drop (the room has them already); the rest is new."""
    lost: int
    """Samples between what the room had and this frame: audio the node could not keep. The
    room's timeline moves on by this much before the frame."""
    end: int
    """Where the room's knowledge of the stream ends once the new part is recognized."""
    samples: int
    """The frame's length."""

    @property
    def new(self) -> int:
        """Samples of the frame to recognize."""
        return self.samples - self.keep_from


def place_frame(known_end: int | None, position: int, samples: int) -> Placement:
    """Place a frame of ``samples`` samples at ``position`` of a stream whose audio the room
    has up to ``known_end`` (exclusive; None: the room knows nothing of this stream)."""
    if samples < 0 or position < 0:
        raise ValueError(f"position {position} and samples {samples} must not be negative")
    frame_end = position + samples
    if known_end is None:
        return Placement(keep_from=0, lost=0, end=frame_end, samples=samples)
    if frame_end <= known_end:  # all of it arrived before
        return Placement(keep_from=samples, lost=0, end=known_end, samples=samples)
    if position < known_end:  # it straddles the end: the tail is new
        return Placement(keep_from=known_end - position, lost=0, end=frame_end, samples=samples)
    return Placement(keep_from=0, lost=position - known_end, end=frame_end, samples=samples)


class StreamLedger:
    """Per stream id, the sample where the room's audio of that stream ends (bounded)."""

    def __init__(self, max_streams: int = MAX_STREAMS) -> None:
        """Raises ValueError unless ``max_streams`` is positive."""
        if max_streams <= 0:
            raise ValueError(f"max_streams must be positive, not {max_streams}")
        self.max_streams = max_streams
        self._ends: OrderedDict[str, int] = OrderedDict()

    def __len__(self) -> int:
        """Streams remembered."""
        return len(self._ends)

    def end(self, stream: str) -> int | None:
        """Where the room's audio of ``stream`` ends, or None if it has none (or forgot)."""
        return self._ends.get(stream)

    def heard(self, stream: str, end: int) -> None:
        """The room has ``stream``'s audio up to ``end``; the oldest stream is forgotten when
        more than ``max_streams`` are known."""
        self._ends[stream] = max(end, self._ends.get(stream, end))
        self._ends.move_to_end(stream)
        while len(self._ends) > self.max_streams:
            self._ends.popitem(last=False)


def stream_mark(record: Mapping[str, Any]) -> tuple[str, int] | None:
    """A transcript record's ``(stream, stream_end)``, or None when it has none or they are
    not a non-empty string and a non-negative integer (an older or damaged record)."""
    stream, end = record.get(STREAM_FIELD), record.get(STREAM_END_FIELD)
    if not isinstance(stream, str) or not stream:
        return None
    if not isinstance(end, int) or isinstance(end, bool) or end < 0:
        return None
    return stream, end


def ledger_from_records(
    records: Iterable[Mapping[str, Any]], max_streams: int = MAX_STREAMS
) -> StreamLedger:
    """The ledger a room had of its finalized audio, from its transcript's records (file
    order): per stream the latest ``stream_end``, for the ``max_streams`` most recent streams.
    Records without a valid mark are skipped."""
    ledger = StreamLedger(max_streams)
    for record in records:
        mark = stream_mark(record)
        if mark is not None:
            ledger.heard(*mark)
    return ledger


def without_stream_fields(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` without the internal stream fields (the same dict when it has none)."""
    if not any(field in record for field in STREAM_FIELDS):
        return record
    return {k: v for k, v in record.items() if k not in STREAM_FIELDS}

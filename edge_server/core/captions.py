"""Caption segment state: recognizer hypotheses in, caption messages out. Pure, no I/O.

A *segment* is one utterance on screen. Its partials share its id and replace each other; its
final closes it. Ids increase within a room and are never reused, even across restarts (the room
starts its tracker at one past the highest id in its transcript). Times are moved from the
recognizer stream's clock onto the room's timeline (see docs/protocol.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge_server.core.engine_api import Hypothesis


def _round_time(seconds: float) -> float:
    return round(seconds, 3)


@dataclass(frozen=True)
class CaptionUpdate:
    """What one hypothesis changed: a message to send and whether it is a final to store."""

    message: dict[str, Any]
    is_final: bool


class CaptionTracker:
    """Assigns segment ids and builds partial/final messages for one stream of one room."""

    def __init__(self, room: str, engine: str, next_segment: int, timeline_offset: float) -> None:
        self.room = room
        self.engine = engine
        self.next_segment = next_segment
        self.timeline_offset = timeline_offset
        self._open_segment: int | None = None
        self._last_partial = ""

    def _message(self, kind: str, segment: int, hyp: Hypothesis) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": kind,
            "room": self.room,
            "segment": segment,
            "text": hyp.text,
            "lang": hyp.language,
            "start": _round_time(self.timeline_offset + hyp.start),
            "end": _round_time(self.timeline_offset + max(hyp.end, hyp.start)),
            "engine": hyp.engine or self.engine,
        }
        if hyp.words and not hyp.is_final:
            message["words"] = [{"text": w.text, "stable": w.stable} for w in hyp.words]
        return message

    def _segment_id(self) -> int:
        if self._open_segment is None:
            self._open_segment = self.next_segment
            self.next_segment += 1
            self._last_partial = ""
        return self._open_segment

    def apply(self, hyp: Hypothesis) -> CaptionUpdate | None:
        """The update caused by ``hyp``, or None when nothing visible changed.

        An empty final after partials yields an empty partial for the segment (the screen
        clears it); an empty final with no partial shown yields nothing.
        """
        text = hyp.text.strip()
        if not hyp.is_final:
            if not text or (self._open_segment is not None and text == self._last_partial):
                return None
            segment = self._segment_id()
            self._last_partial = text
            return CaptionUpdate(self._message("partial", segment, hyp), is_final=False)
        segment_open = self._open_segment is not None
        if not text:
            if not segment_open:
                return None
            segment = self._segment_id()
            self._open_segment = None
            return CaptionUpdate(self._message("partial", segment, hyp) | {"text": ""}, False)
        segment = self._segment_id()
        self._open_segment = None
        message = self._message("final", segment, hyp)
        message["text"] = text
        message["translations"] = {}
        return CaptionUpdate(message, is_final=True)

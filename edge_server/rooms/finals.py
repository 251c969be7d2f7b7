"""A final's way out of a room, in this order: translated (when the room has a translator and
targets), written to disk, published to subscribers, then spoken for listeners.

"On disk before it is shown": a final is published only after the transcript write returned.
When the disk refuses it (full, read-only, failing) the line is still shown (a blank monitor
helps nobody), marked ``"unsaved": true`` and held in memory by the store until the disk takes
it again (see :mod:`.transcript`); the failure is loud in the log, ``/healthz``, ``/metrics``
and the status page.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from edge_server.core.costs import CostMeter
from edge_server.core.engine_api import EngineError, Translator
from edge_server.core.error_log import ErrorLog
from edge_server.core.latency import LatencyStats
from edge_server.core.trace import PipelineTrace, Stage
from edge_server.core.wall_time import utc_now
from edge_server.rooms.fanout import Broadcaster, dumps_message
from edge_server.rooms.listener_speech import SpeechHub
from edge_server.rooms.transcript import TranscriptStore

log = logging.getLogger(__name__)


class FinalPipeline:
    """Translate, store, publish and speak the finals of one room."""

    def __init__(
        self,
        room: str,
        store: TranscriptStore,
        broadcaster: Broadcaster,
        *,
        translator: Translator | None,
        translate_timeout_s: float,
        speech: SpeechHub | None,
        costs: CostMeter,
        latency: LatencyStats,
        errors: ErrorLog,
        trace: PipelineTrace | None = None,
        tag_talk: Callable[[dict[str, Any]], None] | None = None,
        correct: Callable[[str], str] | None = None,
    ) -> None:
        """``tag_talk`` marks a final with its talk before it is stored (see
        :mod:`edge_server.core.talk_transcripts`); ``correct`` applies the glossary to a
        final's text before it is translated and stored (the text heard is kept as ``heard``)."""
        self.room = room
        self.store = store
        self.broadcaster = broadcaster
        self.translator = translator
        self.translate_timeout_s = translate_timeout_s
        self.speech = speech
        self.costs = costs
        self.latency = latency
        self.errors = errors
        self.trace = trace
        self.tag_talk = tag_talk
        self.correct = correct

    async def commit(
        self,
        message: dict[str, Any],
        targets: Sequence[str],
        arrived_at: float | None,
        stream_mark: tuple[str, int] | None = None,
    ) -> dict[str, Any]:
        """Translate into ``targets``, write to disk, publish and speak one final; returns the
        stored record. ``arrived_at``: when the audio that ended it arrived (monotonic), for
        the caption latency; ``stream_mark``: the node stream and sample where the final's
        audio ends, written to disk only (see :meth:`TranscriptStore.append`)."""
        if self.correct is not None:
            written = self.correct(message["text"])
            if written != message["text"]:
                message["heard"] = message["text"]
                message["text"] = written
        targets = [t for t in targets if t != message["lang"]]
        if self.translator is not None and targets:
            try:
                translations = await asyncio.wait_for(
                    self.translator.translate(message["text"], message["lang"], targets),
                    self.translate_timeout_s + 1.0,
                )
                message["translations"] = dict(translations)
                self.costs.add_translation(message["text"], len(translations))
            except (EngineError, TimeoutError) as exc:
                self.errors.add(f"translation: {exc}")
                log.warning("room %s: translation failed: %s", self.room, exc)
        message["wall"] = utc_now()
        if self.tag_talk is not None:
            self.tag_talk(message)
        trace = self.trace
        if trace is not None:
            trace(Stage.WRITE_START, message)
        was_failing = self.store.unsaved.fault is not None
        if not await self.store.append(message, stream_mark):
            # Showing the line beats a blank screen: it goes out marked "unsaved" and waits in
            # memory for the disk; the store logs it, /healthz, /metrics and the status page
            # show it.
            fault = self.store.unsaved.fault
            if fault is not None and not was_failing:
                self.errors.add(
                    f"transcript write failed ({fault.code}: {fault.message}): finals are "
                    "shown but held in memory until the disk takes them"
                )
        if trace is not None:
            trace(Stage.WRITE_DONE, message)
        self.broadcaster.publish(dumps_message(message))
        if arrived_at is not None:
            self.latency.add(time.monotonic() - arrived_at)
        if self.speech is not None:
            self.speech.on_final(message)
        return message

    def publish_partial(self, message: dict[str, Any]) -> None:
        """Send a partial to subscribers that want partials."""
        self.broadcaster.publish(dumps_message(message), partial=True)

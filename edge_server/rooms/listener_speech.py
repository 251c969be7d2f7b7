"""Speech for listeners' phones: one synthesis per room and language, shared by its listeners.

After a final is published (so its text is already queued ahead of any audio), each language
that has listeners with sound gets the final's translation spoken, one sentence after another:

``{"type": "speech", "segment", "lang", "voice", ...}`` when its first audio is ready (or its
synthesis failed), PCM chunks as binary messages, then ``{"type": "speech_end", "segment",
"lang", "ok", "voice"}``. ``voice`` says who speaks: ``{"engine", "name",
"standing_in_for"}``, the last set while the local voice replaces an unavailable cloud one
(:mod:`edge_server.engines.fallback.synthesizer`).

The listeners of a sentence are fixed when its synthesis starts; one that turns sound off or
leaves stops receiving, one that joins gets the next sentence whole. A language whose queue of
sentences grows past :data:`MAX_PENDING` drops its oldest (nobody could catch up on it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import Any

from edge_server.contract.log_fields import log_fields
from edge_server.core.engine_api import EngineError, Synthesizer, UnsupportedLanguage
from edge_server.core.latency import LatencyStats
from edge_server.rooms.fanout import Broadcaster, dumps_message

log = logging.getLogger(__name__)

MAX_PENDING = 4
"""Sentences waiting per language before the oldest is dropped."""
SAMPLE_RATE = 16000


class SpeechHub:
    """The speech of one room."""

    def __init__(self, room: str, synthesizer: Synthesizer, broadcaster: Broadcaster) -> None:
        self.room = room
        self.synthesizer = synthesizer
        self.broadcaster = broadcaster
        self._pending: dict[str, deque[tuple[int, str, float]]] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self.unsupported: dict[str, str] = {}
        """Languages the engine said it cannot speak, with its reason."""
        self.silent: dict[str, str] = {}
        """Languages whose latest sentence no voice could speak (the cloud voice down and the
        local one without the language), with the reason."""
        self.first_audio = LatencyStats()
        """From a final being published to its first audio chunk queued for listeners."""
        self.sentences = 0
        """Sentences whose synthesis started."""
        self.dropped_sentences = 0

    @property
    def name(self) -> str:
        """The engine's name (``espeak``, ``amazon-polly``)."""
        return self.synthesizer.name

    def on_final(self, record: dict[str, Any]) -> None:
        """Queue a published final for every language with listeners that have sound on."""
        translations = record.get("translations") or {}
        for lang in self.broadcaster.audio_languages():
            text = translations.get(lang)
            if not text or lang in self.unsupported:
                continue
            pending = self._pending.setdefault(lang, deque())
            if len(pending) >= MAX_PENDING:
                pending.popleft()
                self.dropped_sentences += 1
                log.warning("room %s: speech in %s falls behind; a sentence skipped", self.room,
                            lang)  # fmt: skip
            pending.append((int(record["segment"]), text, time.monotonic()))
            self._wake.setdefault(lang, asyncio.Event()).set()
            if lang not in self._workers or self._workers[lang].done():
                # The worker outlives the session that happened to start it: its lines carry
                # the room, not that session's SESSION/ENGINE (the task copies the context now).
                with log_fields(room=self.room, session=None, engine=None):
                    self._workers[lang] = asyncio.create_task(
                        self._speak(lang), name=f"speech-{self.room}-{lang}"
                    )

    async def _speak(self, lang: str) -> None:
        pending = self._pending[lang]
        wake = self._wake[lang]
        while True:
            if not pending:
                wake.clear()
                await wake.wait()
                continue
            segment, text, queued_at = pending.popleft()
            listeners = self.broadcaster.listeners(lang)
            if listeners:
                await self._one(lang, segment, text, queued_at, listeners)

    async def _one(
        self, lang: str, segment: int, text: str, queued_at: float, listeners: list[Any]
    ) -> None:
        first: float | None = None
        end: dict[str, Any] = {"type": "speech_end", "segment": segment, "lang": lang, "ok": True}
        try:
            async with contextlib.aclosing(self.synthesizer.synthesize(text, lang)) as chunks:
                async for chunk in chunks:
                    if first is None:
                        first = time.monotonic() - queued_at
                        self._header(listeners, lang, segment)
                    listeners = [s for s in listeners if s.audio and s.lang == lang
                                 and not s.dropped]  # fmt: skip
                    if not listeners:
                        break
                    self.broadcaster.offer_to(listeners, chunk)
            self.silent.pop(lang, None)
        except UnsupportedLanguage as exc:
            self.unsupported[lang] = str(exc)
            end.update(ok=False, error=str(exc))
        except EngineError as exc:
            log.warning("room %s: speech in %s failed: %s", self.room, lang, exc)
            end.update(ok=False, error=str(exc))
            if first is None:
                self.silent[lang] = str(exc)
        except Exception as exc:  # a bug in an engine must not silence the room's speech
            log.exception("room %s: speech engine crashed", self.room)
            end.update(ok=False, error=repr(exc))
        if first is None:
            self._header(listeners, lang, segment)
        end["voice"] = self._voice(lang)
        self.broadcaster.offer_to(
            [s for s in listeners if not s.dropped and s.lang == lang], dumps_message(end)
        )
        self.sentences += 1
        if first is not None:
            self.first_audio.add(first)

    def _voice(self, lang: str) -> dict[str, Any]:
        voice = self.synthesizer.voice(lang)
        return {"engine": voice.engine, "name": voice.voice,
                "standing_in_for": voice.standing_in_for}  # fmt: skip

    def _header(self, listeners: list[Any], lang: str, segment: int) -> None:
        """The sentence's header, with the voice that speaks it (known at its first audio)."""
        header = {"type": "speech", "segment": segment, "lang": lang, "sample_rate": SAMPLE_RATE,
                  "channels": 1, "format": "s16le", "voice": self._voice(lang)}  # fmt: skip
        self.broadcaster.offer_to(
            [s for s in listeners if not s.dropped and s.lang == lang], dumps_message(header)
        )

    def health(self) -> dict[str, Any]:
        """The speech part of a room's health."""
        first_audio = self.first_audio.summary()
        voice = self.synthesizer.health()
        return {
            "engine": self.name,
            "offline": voice.offline,
            "last_error": voice.last_error,
            "switches": [dict(s) for s in voice.switches],
            "silent": dict(self.silent),
            "sentences": self.sentences,
            "first_audio_p50_s": first_audio.p50_s if first_audio else None,
            "dropped_sentences": self.dropped_sentences,
            "unsupported": dict(self.unsupported),
        }

    async def close(self) -> None:
        """Stop speaking and release the engine."""
        for task in self._workers.values():
            task.cancel()
        for task in self._workers.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers.clear()
        with contextlib.suppress(EngineError):
            await self.synthesizer.close()

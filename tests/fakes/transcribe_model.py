"""The fake's "speech recognizer": deterministic results computed from the audio itself.

Audio is read in 100 ms blocks (1600 samples, counted from the start of each stream). A block
whose first sample is non-zero is one spoken word, ``w<value>``; a block whose first sample is
zero is silence. Tests write the global frame number into the samples, so every word names the
audio that produced it and a test can check that no word is lost or doubled across streams.

Rules, like the real service: a partial after each word (words older than ``stable_tail`` are
``Stable`` when stabilization is on), a final at the first silence after speech, after
``max_words`` words, and at the end of the audio.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SAMPLE_RATE = 16000
BLOCK_SAMPLES = 1600
BLOCK_BYTES = BLOCK_SAMPLES * 2
BLOCK_S = BLOCK_SAMPLES / SAMPLE_RATE


@dataclass
class ModelConfig:
    """How one stream's results are shaped (from the request headers and the fake's script)."""

    stabilization: bool = False
    """``enable-partial-results-stabilization`` was requested."""
    identify: bool = False
    """``identify-language`` was requested: results carry ``LanguageCode``."""
    language: str = "en-US"
    """The stream's language, or the language identified when ``language_for`` is None."""
    language_for: Callable[[int], str] | None = None
    """Identified language from the value of an utterance's first word."""
    stable_tail: int = 2
    """How many trailing words of a partial stay unstable."""
    max_words: int = 12
    """An utterance is finalized after this many words even without a silence."""


@dataclass
class _Word:
    value: int
    start: float
    end: float


@dataclass
class FakeSpeechModel:
    """One stream's recognizer state."""

    config: ModelConfig
    result_prefix: str = "r"
    blocks: int = 0
    _pending: bytearray = field(default_factory=bytearray)
    _words: list[_Word] = field(default_factory=list)
    _utterances: int = 0

    @property
    def audio_s(self) -> float:
        """Seconds of audio processed so far."""
        return self.blocks * BLOCK_S

    def feed(self, pcm: bytes) -> list[dict[str, Any]]:
        """Add audio; return the results it completes, in order."""
        self._pending += pcm
        results: list[dict[str, Any]] = []
        while len(self._pending) >= BLOCK_BYTES:
            block = bytes(self._pending[:BLOCK_BYTES])
            del self._pending[:BLOCK_BYTES]
            results.extend(self._block(block))
        return results

    def finish(self) -> list[dict[str, Any]]:
        """End of audio: a partial block counts, then the open utterance is finalized."""
        results: list[dict[str, Any]] = []
        if len(self._pending) >= 2:
            results.extend(self._block(bytes(self._pending)))
            self._pending.clear()
        if self._words:
            results.append(self._result(final=True))
        return results

    def _block(self, block: bytes) -> list[dict[str, Any]]:
        (value,) = struct.unpack_from("<h", block, 0)
        start = self.blocks * BLOCK_S
        self.blocks += 1
        if value == 0:
            return [self._result(final=True)] if self._words else []
        self._words.append(_Word(value, round(start, 3), round(start + BLOCK_S, 3)))
        if len(self._words) >= self.config.max_words:
            return [self._result(final=True)]
        return [self._result(final=False)]

    def _language(self) -> str:
        if self.config.language_for is not None and self._words:
            return self.config.language_for(self._words[0].value)
        return self.config.language

    def _result(self, final: bool) -> dict[str, Any]:
        words = self._words
        stable_upto = len(words) if final else max(0, len(words) - self.config.stable_tail)
        items: list[dict[str, Any]] = []
        for index, word in enumerate(words):
            item: dict[str, Any] = {
                "StartTime": word.start,
                "EndTime": word.end,
                "Type": "pronunciation",
                "Content": f"w{word.value}",
                "VocabularyFilterMatch": False,
            }
            if self.config.stabilization:
                item["Stable"] = index < stable_upto
            items.append(item)
        result: dict[str, Any] = {
            "ResultId": f"{self.result_prefix}-{self._utterances}",
            "StartTime": words[0].start,
            "EndTime": words[-1].end,
            "IsPartial": not final,
            "Alternatives": [
                {"Transcript": " ".join(f"w{w.value}" for w in words), "Items": items}
            ],
            "ChannelId": "ch_0",
        }
        if self.config.identify:
            result["LanguageCode"] = self._language()
        if final:
            self._words = []
            self._utterances += 1
        return result

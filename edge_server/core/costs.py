"""Estimated cloud cost per room, from usage counts and one list of prices. Pure.

Prices are public list prices (USD, us-east-1, 2026), kept here and nowhere else. They are an
estimate for the tech lead's status page, not a bill: free tiers, regions and discounts differ.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from edge_server.contract.audio_format import BYTES_PER_SECOND
from edge_server.core.wall_time import utc_now

PRICES_AS_OF = "2026 list prices, USD"
TRANSCRIBE_USD_PER_MINUTE = 0.024
"""Amazon Transcribe streaming, per minute of audio (billed per second)."""
TRANSLATE_USD_PER_MILLION_CHARS = 15.0
"""Amazon Translate real-time, per million characters (each target language counts)."""
POLLY_USD_PER_MILLION_CHARS = {
    "standard": 4.0,
    "neural": 16.0,
    "long-form": 100.0,
    "generative": 30.0,
}
"""Amazon Polly, per million characters synthesized, by engine."""
PAID_RECOGNIZERS = {"transcribe": TRANSCRIBE_USD_PER_MINUTE}
"""Recognizers that cost money, by engine name; the embedded ones cost nothing."""


@dataclass
class CostMeter:
    """Usage of one room since the server started."""

    since: str = field(default_factory=lambda: utc_now("seconds"))
    recognizer_bytes: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    """Bytes of 16 kHz s16le audio sent to each recognizer engine (whole numbers: no drift)."""
    translated_chars: int = 0
    """Characters sent to the translator, once per target language."""
    synthesized_chars: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    """Characters synthesized, by Polly engine."""

    def add_audio(self, engine: str, pcm_bytes: int) -> None:
        """``pcm_bytes`` of 16 kHz mono s16le audio went to ``engine``."""
        self.recognizer_bytes[engine] += pcm_bytes

    @property
    def recognizer_seconds(self) -> dict[str, float]:
        """Seconds of audio sent to each recognizer engine."""
        return {engine: n / BYTES_PER_SECOND for engine, n in self.recognizer_bytes.items()}

    def add_translation(self, text: str, targets: int) -> None:
        """``text`` was translated into ``targets`` languages."""
        self.translated_chars += len(text) * targets

    def add_synthesis(self, polly_engine: str, text: str) -> None:
        """``text`` was synthesized with ``polly_engine``."""
        self.synthesized_chars[polly_engine] += len(text)

    def estimate(self) -> dict[str, Any]:
        """Usage and estimated USD per service, and the total."""
        recognizer = sum(
            seconds / 60.0 * PAID_RECOGNIZERS.get(engine, 0.0)
            for engine, seconds in self.recognizer_seconds.items()
        )
        translate = self.translated_chars / 1e6 * TRANSLATE_USD_PER_MILLION_CHARS
        polly = sum(
            chars / 1e6 * POLLY_USD_PER_MILLION_CHARS.get(engine, 0.0)
            for engine, chars in self.synthesized_chars.items()
        )
        return {
            "since": self.since,
            "prices": PRICES_AS_OF,
            "usage": {
                "recognizer_minutes": {
                    engine: round(seconds / 60.0, 2)
                    for engine, seconds in sorted(self.recognizer_seconds.items())
                },
                "translated_chars": self.translated_chars,
                "synthesized_chars": dict(sorted(self.synthesized_chars.items())),
            },
            "usd": {
                "recognizer": round(recognizer, 4),
                "translate": round(translate, 4),
                "polly": round(polly, 4),
                "total": round(recognizer + translate + polly, 4),
            },
        }

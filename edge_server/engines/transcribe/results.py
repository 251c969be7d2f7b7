"""Transcribe results to :class:`Hypothesis` objects. Pure (duck-typed SDK model objects in).

Times move onto the recognizer stream's clock by adding the offset of the service stream they
came from (a rotated stream starts at the audio already sent). Punctuation items join the word
before them, so a screen shows ``"world."``, not ``"world ."``. A word is stable when the service
flagged it ``Stable``, or when its result is final.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from edge_server.core.engine_api import Hypothesis, Word


class ItemLike(Protocol):
    """An ``amazon_transcribe.model.Item``."""

    @property
    def start_time(self) -> float | None: ...
    @property
    def end_time(self) -> float | None: ...
    @property
    def item_type(self) -> str | None: ...
    @property
    def content(self) -> str | None: ...
    @property
    def stable(self) -> bool | None: ...


class AlternativeLike(Protocol):
    """An ``amazon_transcribe.model.Alternative``."""

    @property
    def transcript(self) -> str | None: ...
    @property
    def items(self) -> Sequence[ItemLike] | None: ...


class ResultLike(Protocol):
    """An ``amazon_transcribe.model.Result``."""

    @property
    def start_time(self) -> float | None: ...
    @property
    def end_time(self) -> float | None: ...
    @property
    def is_partial(self) -> bool | None: ...
    @property
    def alternatives(self) -> Sequence[AlternativeLike] | None: ...
    @property
    def language_code(self) -> str | None: ...


def words_of(items: Sequence[ItemLike], offset_s: float, is_final: bool) -> tuple[Word, ...]:
    """Words with stability and stream times; punctuation joins the previous word."""
    words: list[Word] = []
    for item in items:
        text = (item.content or "").strip()
        if not text:
            continue
        stable = is_final or bool(item.stable)
        start = offset_s + (item.start_time or 0.0)
        end = offset_s + (item.end_time or item.start_time or 0.0)
        if item.item_type == "punctuation" and words:
            last = words[-1]
            joined = last.text + text
            words[-1] = Word(joined, last.start, max(last.end, end), last.stable and stable)
            continue
        words.append(Word(text, round(start, 3), round(end, 3), stable))
    return tuple(words)


class ResultConverter:
    """Converts the results of one service stream; remembers the identified language."""

    def __init__(self, offset_s: float, fallback_language: str) -> None:
        self.offset_s = offset_s
        self.language = fallback_language
        """The last language the service identified (or the fallback before any)."""

    def convert(self, result: ResultLike) -> Hypothesis | None:
        """The hypothesis of one result, or None for a result without alternatives."""
        if not result.alternatives:
            return None
        if result.language_code:
            self.language = result.language_code
        best = result.alternatives[0]
        is_final = not result.is_partial
        words = words_of(best.items or (), self.offset_s, is_final)
        text = (best.transcript or "").strip() or " ".join(w.text for w in words)
        start = self.offset_s + (result.start_time or 0.0)
        end = self.offset_s + (result.end_time or result.start_time or 0.0)
        return Hypothesis(
            text=text,
            is_final=is_final,
            start=round(start, 3),
            end=round(max(start, end), 3),
            language=self.language,
            words=words,
        )

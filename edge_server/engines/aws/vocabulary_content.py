"""What a room's Amazon Transcribe custom vocabulary holds, built from its glossary. Pure.

The vocabulary is the list form (``Phrases`` of ``CreateVocabulary``), under Transcribe's rules
(docs.aws.amazon.com/transcribe/latest/dg/custom-vocabulary.html and ``charsets.html``):

- the words of a phrase are joined by hyphens (``Raspberry Pi`` -> ``Raspberry-Pi``);
- only the language's character set: for English ``a-z A-Z ' - .``; for other languages
  letters (precomposed, NFC) and ``' - .``; no digits in any language (numbers are spelled);
- a phrase is at most 256 characters; the whole vocabulary at most 50 KB.

A phrase that breaks a rule is left out with the reason (shown on the status page), never the
whole vocabulary. The name carries a digest of the content (``edge-<room>-<language>-<digest>``),
so an unchanged glossary finds its vocabulary already there and uploads nothing.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from edge_server.core.glossary import Glossary

MAX_PHRASE_CHARS = 256
"""Longest entry Transcribe accepts."""
MAX_TOTAL_BYTES = 50_000
"""Transcribe's 50 KB limit for one vocabulary (counted as UTF-8 with a separator each)."""
NAME_PREFIX = "edge"
_PUNCTUATION = frozenset("'-.")
_ENGLISH = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") | _PUNCTUATION


@dataclass(frozen=True)
class Dropped:
    """An entry of the glossary that cannot be in the vocabulary, and why."""

    phrase: str
    reason: str


@dataclass(frozen=True)
class VocabularyContent:
    """The phrases of one language's vocabulary, what was left out, and the content's digest."""

    language: str
    phrases: tuple[str, ...]
    dropped: tuple[Dropped, ...]

    @property
    def digest(self) -> str:
        """12 hex digits of SHA-256 over the language and the phrases."""
        data = "\n".join((self.language, *self.phrases)).encode()
        return hashlib.sha256(data).hexdigest()[:12]


def glossary_phrases(glossary: Glossary) -> list[str]:
    """What the recognizer should know: the terms, then the written forms of corrections."""
    return list(dict.fromkeys([*glossary.terms, *glossary.corrections.values()]))


def _bad_character(phrase: str, language: str) -> str | None:
    english = language.split("-")[0].lower() == "en"
    for char in phrase:
        if char.isdigit():
            return "digits are not allowed (spell numbers out)"
        allowed = char in _ENGLISH if english else (char.isalpha() or char in _PUNCTUATION)
        if not allowed:
            return f"{char!r} is not in Transcribe's {language} character set"
    return None


def vocabulary_phrase(entry: str, language: str) -> tuple[str | None, str]:
    """``entry`` as a phrase of the vocabulary (words joined by hyphens), or None and why."""
    phrase = "-".join(unicodedata.normalize("NFC", entry).split())
    if not phrase:
        return None, "empty"
    if len(phrase) > MAX_PHRASE_CHARS:
        return None, f"longer than {MAX_PHRASE_CHARS} characters"
    bad = _bad_character(phrase, language)
    if bad is not None:
        return None, bad
    if not any(char.isalpha() for char in phrase):
        return None, "no letters"
    return phrase, ""


def vocabulary_content(entries: Iterable[str], language: str) -> VocabularyContent:
    """The vocabulary for ``language`` from glossary entries (duplicates, in any case, once)."""
    phrases: list[str] = []
    dropped: list[Dropped] = []
    seen: set[str] = set()
    size = 0
    for entry in entries:
        phrase, reason = vocabulary_phrase(entry, language)
        if phrase is None:
            dropped.append(Dropped(entry, reason))
            continue
        if phrase.casefold() in seen:
            continue
        cost = len(phrase.encode()) + 1
        if size + cost > MAX_TOTAL_BYTES:
            dropped.append(Dropped(entry, f"over Transcribe's {MAX_TOTAL_BYTES} byte limit"))
            continue
        seen.add(phrase.casefold())
        phrases.append(phrase)
        size += cost
    return VocabularyContent(language, tuple(phrases), tuple(dropped))


def vocabulary_prefix(room: str, language: str) -> str:
    """The start of every vocabulary name of ``room`` in ``language``."""
    return f"{NAME_PREFIX}-{room}-{language}-"


def vocabulary_name(room: str, content: VocabularyContent) -> str:
    """``edge-<room>-<language>-<digest>`` (Transcribe: ``[0-9a-zA-Z._-]``, at most 200)."""
    return vocabulary_prefix(room, content.language) + content.digest

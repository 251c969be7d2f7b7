"""The conference glossary: corrections (heard phrase -> written form) and terms written exactly
so (names, products), applied to every final before it is stored. Pure: TOML text in, a
:class:`Glossary` out; text in, corrected text out.

The file (setting ``glossary``, per conference and per room)::

    terms = ["PipeWire", "FOSDEM", "Raspberry Pi"]

    [corrections]
    "pipe wire" = "PipeWire"
    "fuzz dem" = "FOSDEM"

Corrections match whole words, case-insensitively, the longest phrase first; then every term is
written in its exact form wherever it appears as whole words in any case ("pipewire" ->
"PipeWire"). Speakers' names and the capitalized words of talk titles join the terms
automatically (:func:`schedule_terms`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from edge_server.core.talks import Schedule

MAX_ENTRIES = 5000
"""More corrections or terms than this are refused (a glossary, not a dictionary)."""


class GlossaryError(ValueError):
    """The glossary file is invalid; the message names the file and, for TOML, the line."""


def _pattern(phrase: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in phrase.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class Glossary:
    """Corrections and terms, compiled."""

    corrections: Mapping[str, str] = field(default_factory=dict)
    terms: tuple[str, ...] = ()
    _rules: tuple[tuple[re.Pattern[str], str], ...] = field(default=(), compare=False)

    @classmethod
    def of(cls, corrections: Mapping[str, str], terms: Iterable[str]) -> Glossary:
        """A glossary with its rules compiled (longest phrases first)."""
        unique_terms = tuple(dict.fromkeys(t.strip() for t in terms if t.strip()))
        cleaned = {k.strip(): v for k, v in corrections.items() if k.strip()}
        rules = [(_pattern(k), v) for k, v in sorted(cleaned.items(), key=lambda kv: -len(kv[0]))]
        rules += [(_pattern(t), t) for t in sorted(unique_terms, key=len, reverse=True)]
        return cls(cleaned, unique_terms, tuple(rules))

    def merged(self, other: Glossary) -> Glossary:
        """This glossary with ``other``'s entries added (``other`` wins on a conflict)."""
        return Glossary.of({**self.corrections, **other.corrections}, (*self.terms, *other.terms))

    def apply(self, text: str) -> str:
        """``text`` with the corrections made and the terms written in their exact form."""
        for pattern, written in self._rules:
            text = pattern.sub(written.replace("\\", "\\\\"), text)  # a literal replacement
        return text

    def __bool__(self) -> bool:
        return bool(self._rules)


def parse_glossary(text: str, source: str) -> Glossary:
    """A glossary from TOML ``text``; :class:`GlossaryError` naming ``source`` (and the line)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise GlossaryError(f"glossary {source}: {exc}") from None
    unknown = set(data) - {"terms", "corrections"}
    if unknown:
        raise GlossaryError(
            f"glossary {source}: unknown key(s) {sorted(unknown)}; known: corrections, terms"
        )
    terms = data.get("terms", [])
    if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
        raise GlossaryError(f"glossary {source}: terms must be a list of strings")
    corrections = data.get("corrections", {})
    if not isinstance(corrections, dict) or not all(
        isinstance(v, str) for v in corrections.values()
    ):
        raise GlossaryError(f'glossary {source}: [corrections] must be heard phrase = "written"')
    if len(terms) + len(corrections) > MAX_ENTRIES:
        raise GlossaryError(f"glossary {source}: more than {MAX_ENTRIES} entries")
    return Glossary.of(corrections, terms)


_TITLE_WORD = re.compile(r"[\w][\w.+#-]*[\w+#]|\w", re.UNICODE)


def schedule_terms(schedule: Schedule | None) -> list[str]:
    """Speakers' names and the capitalized words of talk titles (not a title's first word,
    which is capitalized anyway), as terms."""
    if schedule is None:
        return []
    terms: list[str] = []
    for talk in schedule.talks:
        terms.extend(talk.speakers)
        words = _TITLE_WORD.findall(talk.title)
        for index, word in enumerate(words):
            if len(word) < 2:
                continue
            inner_capital = any(ch.isupper() for ch in word[1:])
            if inner_capital or (index > 0 and word[0].isupper()):
                terms.append(word)
    return terms

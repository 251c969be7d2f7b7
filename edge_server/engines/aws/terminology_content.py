"""What a room's Amazon Translate custom terminology holds, built from its glossary. Pure.

Every term of the glossary (and the schedule's names) maps to itself in every language of the
room, so Translate leaves it as written: a CSV whose header is the Translate codes of the room's
languages (the spoken one first) and one row per term. It is imported as ``MULTI``-directional,
so it serves whichever language is spoken (rooms that identify the language). Translate applies
at most one terminology per request and uses at most 256 terms of it; source terms match
exactly (the glossary has already written them in their exact form). Terms beyond 256 are left
out with the reason, never the whole terminology.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from edge_server.engines.aws.vocabulary_content import NAME_PREFIX, Dropped

MAX_TERMS = 256
"""Most terms of a terminology Translate uses in a request."""
MAX_TERM_BYTES = 200
"""Longest term kept (a name, not a sentence)."""


@dataclass(frozen=True)
class TerminologyContent:
    """The CSV of one room's terminology, its terms, what was left out, and its digest."""

    languages: tuple[str, ...]
    terms: tuple[str, ...]
    dropped: tuple[Dropped, ...]

    @property
    def csv_bytes(self) -> bytes:
        """The terminology file: a header of language codes, each term in every column."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.languages)
        for term in self.terms:
            writer.writerow([term] * len(self.languages))
        return out.getvalue().encode()

    @property
    def digest(self) -> str:
        """12 hex digits of SHA-256 over the file."""
        return hashlib.sha256(self.csv_bytes).hexdigest()[:12]

    @property
    def description(self) -> str:
        """The terminology's description: says who made it and from what content."""
        return f"edge-server glossary {self.digest}"

    @property
    def usable(self) -> bool:
        """Worth importing: at least one term and two languages."""
        return bool(self.terms) and len(self.languages) >= 2


def terminology_content(terms: Iterable[str], languages: Sequence[str]) -> TerminologyContent:
    """The terminology of ``terms`` for ``languages`` (Translate codes, deduplicated in order)."""
    codes = tuple(dict.fromkeys(languages))
    kept: list[str] = []
    dropped: list[Dropped] = []
    for raw in dict.fromkeys(t.strip() for t in terms):
        if not raw:
            continue
        if len(raw.encode()) > MAX_TERM_BYTES:
            dropped.append(Dropped(raw, f"longer than {MAX_TERM_BYTES} bytes"))
        elif len(kept) >= MAX_TERMS:
            dropped.append(Dropped(raw, f"Translate uses at most {MAX_TERMS} terms"))
        else:
            kept.append(raw)
    return TerminologyContent(codes, tuple(kept), tuple(dropped))


def terminology_name(room: str) -> str:
    """``edge-<room>`` in Translate's name pattern (``([A-Za-z0-9-]_?)+``)."""
    return f"{NAME_PREFIX}-" + re.sub(r"_+", "-", room)

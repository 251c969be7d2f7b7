"""Which espeak-ng voice speaks a language code. Pure."""

from __future__ import annotations

from collections.abc import Iterable

ALIASES = {"zh": "cmn", "zh-cn": "cmn", "zh-tw": "cmn", "no": "nb", "fr": "fr-fr", "en": "en-us"}
"""Codes Amazon Translate uses that espeak-ng spells otherwise."""


def parse_voice_list(text: str) -> frozenset[str]:
    """Language names from ``espeak-ng --voices`` (its second column)."""
    languages = set()
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2:
            languages.add(parts[1].lower())
    return frozenset(languages)


def voice_for(language: str, available: Iterable[str]) -> str | None:
    """The espeak-ng voice for a BCP-47 code (``it``, ``en-US``, ``pt-BR``), or None.

    Tries the code as written, a known alias, then its primary language, then any voice of
    that language (``fr`` -> ``fr-fr``).
    """
    known = set(available)
    code = language.lower()
    primary = code.split("-")[0]
    for candidate in (code, ALIASES.get(code), primary, ALIASES.get(primary)):
        if candidate and candidate in known:
            return candidate
    variants = sorted(v for v in known if v.split("-")[0] == primary)
    return variants[0] if variants else None

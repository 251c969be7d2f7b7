"""Choosing a Polly voice for a language and an engine. Pure.

Voices come from DescribeVoices once at start. A room's language may be bare (``it``) or
regional (``en-GB``); Polly's codes are regional (``it-IT``) with a few of their own
(``cmn-CN`` for Mandarin, ``arb`` for Arabic). A voice fits when it supports the engine and
speaks the language as its main or an additional language. A configured preferred voice wins
when it fits; otherwise the choice is deterministic: the language's usual region first, then
voices whose main language it is, then by id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The region a bare language means when several exist, and Polly's own codes.
_USUAL: dict[str, tuple[str, ...]] = {
    "en": ("en-US", "en-GB"),
    "es": ("es-ES", "es-US", "es-MX"),
    "fr": ("fr-FR", "fr-CA"),
    "pt": ("pt-BR", "pt-PT"),
    "de": ("de-DE", "de-AT", "de-CH"),
    "nl": ("nl-NL", "nl-BE"),
    "zh": ("cmn-CN",),
    "ar": ("arb", "ar-AE"),
    "no": ("nb-NO",),
    "nb": ("nb-NO",),
}
_ALIASES = {"zh-cn": "cmn-CN", "zh-hans": "cmn-CN"}


@dataclass(frozen=True)
class Voice:
    """One voice from DescribeVoices."""

    id: str
    language: str
    additional: tuple[str, ...] = ()
    engines: frozenset[str] = frozenset()

    def speaks(self, code: str) -> bool:
        """Whether the voice speaks ``code`` (a Polly code), main or additional."""
        wanted = code.lower()
        return self.language.lower() == wanted or wanted in (c.lower() for c in self.additional)


@dataclass(frozen=True)
class VoiceChoice:
    """The voice, engine and Polly language code to synthesize a language with."""

    voice_id: str
    engine: str
    language_code: str


def parse_voices(raw: Iterable[Mapping[str, Any]]) -> list[Voice]:
    """Voices from DescribeVoices answers (``Voices`` entries)."""
    voices = []
    for entry in raw:
        voices.append(
            Voice(
                id=str(entry["Id"]),
                language=str(entry.get("LanguageCode", "")),
                additional=tuple(str(c) for c in entry.get("AdditionalLanguageCodes", ())),
                engines=frozenset(str(e) for e in entry.get("SupportedEngines", ())),
            )
        )
    return voices


def polly_codes(language: str) -> list[str]:
    """Polly language codes that can stand for ``language``, most likely first."""
    code = language.replace("_", "-")
    primary = code.split("-")[0].lower()
    alias = _ALIASES.get(code.lower())
    if alias:
        return [alias]
    if "-" in code:
        return [f"{primary}-{code.split('-')[1].upper()}"]
    return list(_USUAL.get(primary, (f"{primary}-{primary.upper()}",)))


def _ranked(voices: Sequence[Voice], engine: str, language: str) -> list[tuple[Voice, str]]:
    found: list[tuple[int, int, str, Voice, str]] = []
    codes = polly_codes(language)
    primary = language.replace("_", "-").split("-")[0].lower()
    bare = "-" not in language
    for voice in voices:
        if engine not in voice.engines:
            continue
        for rank, code in enumerate(codes):
            if voice.speaks(code):
                found.append((rank, 0 if voice.language == code else 1, voice.id, voice, code))
                break
        else:
            if bare and voice.language.lower().split("-")[0] == primary:
                found.append((len(codes), 0, voice.id, voice, voice.language))
    found.sort(key=lambda item: item[:3])
    return [(voice, code) for _, _, _, voice, code in found]


def select_voice(
    voices: Sequence[Voice],
    language: str,
    engines: Sequence[str],
    preferred: Mapping[str, str],
) -> VoiceChoice | None:
    """The voice for ``language``: the first engine with a fitting voice, preferred voice first.

    ``preferred`` maps a language (as the room writes it, or a Polly code) to a voice id.
    """
    wanted = preferred.get(language) or next(
        (preferred[c] for c in polly_codes(language) if c in preferred), None
    )
    for engine in engines:
        ranked = _ranked(voices, engine, language)
        if not ranked:
            continue
        for voice, code in ranked:
            if wanted is not None and voice.id.lower() == wanted.lower():
                return VoiceChoice(voice.id, engine, code)
        voice, code = ranked[0]
        return VoiceChoice(voice.id, engine, code)
    return None

"""Settings of the Amazon Transcribe recognizer and what one stream asks the service for. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from edge_server.core.engine_api import UnsupportedLanguage

Stability = Literal["low", "medium", "high"]
FilterMethod = Literal["remove", "mask", "tag"]

AUTO = "auto"
"""The language to pass to ``open_stream`` for automatic language identification."""
STREAM_LIMIT_S = 4 * 3600.0
"""Transcribe ends a stream after four hours."""
_CODE = re.compile(r"^[a-z]{2,3}-[A-Z]{2}$")


@dataclass(frozen=True)
class TranscribeOptions:
    """How a room uses Amazon Transcribe streaming."""

    region: str | None = None
    """AWS region; None: ``AWS_REGION``, ``AWS_DEFAULT_REGION`` or the profile's region."""
    languages: tuple[str, ...] = ()
    """Empty: the language each stream is opened with. One code: always that language. Two or
    more: automatic language identification among them (``IdentifyLanguage`` with
    ``LanguageOptions``), whatever language a stream is opened with."""
    preferred_language: str | None = None
    """With identification: the language to try first (one of ``languages``)."""
    partial_stabilization: bool = True
    """Ask for partial-results stabilization: words carry ``Stable`` flags."""
    stability: Stability = "high"
    """Stabilization level: ``low``, ``medium`` or ``high`` (fewer revisions, less accurate)."""
    vocabulary_names: tuple[str, ...] = ()
    """Custom vocabularies by name: at most one for a fixed language; with identification at
    most one per language (Transcribe uses the one of the identified language)."""
    glossary_vocabulary: bool = True
    """Without ``vocabulary_names``: build a custom vocabulary per language from the room's
    glossary (:mod:`.vocabulary`) and use it once READY."""
    vocabulary_filter_names: tuple[str, ...] = ()
    """Vocabulary filters by name, with the same rule as ``vocabulary_names``."""
    vocabulary_filter_method: FilterMethod = "mask"
    """What a filtered word becomes: ``remove``d, ``mask``ed (``***``) or ``tag``ged."""
    rotate_after_s: float = STREAM_LIMIT_S - 600.0
    """From this stream age on, the next pause (a final, or a silence) starts a new stream."""
    rotate_max_wait_s: float = 300.0
    """If no pause comes within this long after ``rotate_after_s``, rotate anyway."""
    pause_silence_s: float = 0.3
    """This much quiet audio counts as a pause for rotation."""
    silence_dbfs: float = -45.0
    """Audio whose peak is below this level (dBFS) is quiet."""
    endpoint_url: str | None = None
    """Endpoint override (``https://...``); None: ``AWS_ENDPOINT_URL_TRANSCRIBE_STREAMING``,
    ``AWS_ENDPOINT_URL``, the profile, else the regional endpoint."""
    ca_bundle: str | None = None
    """PEM file of CAs to trust for the endpoint; None: ``AWS_CA_BUNDLE`` or the profile's."""
    connect_timeout_s: float = 5.0
    """TCP connect timeout."""
    open_timeout_s: float = 10.0
    """Longest wait for the service to accept a new stream (TLS, HTTP/2, answer headers)."""
    stall_timeout_s: float = 10.0
    """Audio not taken by the connection for this long fails the stream (network gone)."""
    body_wait_s: float = 0.01
    """How long the HTTP/2 body read waits for audio before returning empty (the busy-loop
    fix); bounds the added latency of transcript events."""

    def __post_init__(self) -> None:
        for code in self.languages:
            if not _CODE.match(code):
                raise ValueError(f"Transcribe language {code!r} is not of the form xx-YY")
        if len(set(self.languages)) != len(self.languages):
            raise ValueError("Transcribe languages are listed twice")
        if self.preferred_language is not None and self.preferred_language not in self.languages:
            raise ValueError("the preferred language must be one of the languages")
        most = max(1, len(self.languages))
        if len(self.vocabulary_names) > most or len(self.vocabulary_filter_names) > most:
            raise ValueError("at most one vocabulary (and filter) per language")
        if self.stability not in ("low", "medium", "high"):
            raise ValueError("stability must be low, medium or high")
        if self.vocabulary_filter_method not in ("remove", "mask", "tag"):
            raise ValueError("vocabulary_filter_method must be remove, mask or tag")
        if self.rotate_after_s <= 0 or self.rotate_max_wait_s < 0:
            raise ValueError("rotate_after_s must be positive and rotate_max_wait_s not negative")
        if self.rotate_after_s + self.rotate_max_wait_s >= STREAM_LIMIT_S:
            raise ValueError("rotate_after_s + rotate_max_wait_s must stay under 4 hours")
        if not 0 < self.body_wait_s <= 0.05:
            raise ValueError("body_wait_s must be within (0, 0.05] seconds")
        if min(self.connect_timeout_s, self.open_timeout_s, self.stall_timeout_s) <= 0:
            raise ValueError("timeouts must be positive")

    @property
    def identifies(self) -> bool:
        """Whether streams use automatic language identification."""
        return len(self.languages) >= 2


@dataclass(frozen=True)
class StreamPlan:
    """The language side of one stream request."""

    language: str | None
    """The fixed language, or None with identification."""
    language_options: tuple[str, ...] = ()
    preferred: str | None = None

    @property
    def fallback_language(self) -> str:
        """The language of results that carry none (before identification)."""
        return self.language or self.preferred or self.language_options[0]


def supported_languages(options: TranscribeOptions) -> frozenset[str] | None:
    """Languages a stream may be opened with (None: any code the service knows)."""
    if not options.languages:
        return None
    return frozenset(options.languages) | {AUTO}


def plan_stream(options: TranscribeOptions, language: str) -> StreamPlan:
    """What to ask for when a stream is opened in ``language``; raises UnsupportedLanguage."""
    if options.identifies:
        if language not in (AUTO, *options.languages):
            raise UnsupportedLanguage(
                f"Amazon Transcribe is set to identify {', '.join(options.languages)}, "
                f"not {language}"
            )
        return StreamPlan(None, options.languages, options.preferred_language)
    if options.languages:
        fixed = options.languages[0]
        if language not in (AUTO, fixed):
            raise UnsupportedLanguage(
                f"Amazon Transcribe is set to {fixed} for this room, not {language}"
            )
        return StreamPlan(fixed)
    if language == AUTO:
        raise UnsupportedLanguage(
            "automatic language identification needs two or more configured languages"
        )
    if not _CODE.match(language):
        raise UnsupportedLanguage(f"Amazon Transcribe needs a language like en-US, not {language}")
    return StreamPlan(language)


def request_arguments(
    options: TranscribeOptions, plan: StreamPlan, vocabularies: tuple[str, ...] | None = None
) -> dict[str, object]:
    """Keyword arguments of ``start_stream_transcription`` for one stream; ``vocabularies``
    replaces the configured ``vocabulary_names`` (the ones built from the glossary)."""
    args: dict[str, object] = {"media_sample_rate_hz": 16000, "media_encoding": "pcm"}
    if plan.language is not None:
        args["language_code"] = plan.language
    else:
        args["language_code"] = None
        args["identify_language"] = True
        args["language_options"] = list(plan.language_options)
        if plan.preferred:
            args["preferred_language"] = plan.preferred
    if options.partial_stabilization:
        args["enable_partial_results_stabilization"] = True
        args["partial_results_stability"] = options.stability
    filters = options.vocabulary_filter_names
    if vocabularies is None:
        vocabularies = options.vocabulary_names
    if plan.language is not None:
        if vocabularies:
            args["vocabulary_name"] = vocabularies[0]
        if filters:
            args["vocab_filter_name"] = filters[0]
    else:
        if vocabularies:
            args["vocabulary_names"] = list(vocabularies)
        if filters:
            args["vocab_filter_names"] = list(filters)
    if filters:
        args["vocab_filter_method"] = options.vocabulary_filter_method
    return args


def plan_languages(plan: StreamPlan) -> tuple[str, ...]:
    """The languages a stream may hear: its fixed one, or the identification options."""
    return (plan.language,) if plan.language is not None else plan.language_options

"""The engine interfaces the room pipeline speaks to. Pure: types and protocols only.

A room never imports an engine module directly: it receives a :class:`Recognizer` (and,
optionally, a :class:`Translator` and a :class:`Synthesizer`) built from its settings
(:mod:`edge_server.engines.factory`), so engines can be swapped per room and the room logic can
be tested with any implementation. Everything a room reads of an engine is declared here,
its health included: nothing probes an engine with ``getattr``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from edge_server.core.glossary import Glossary


class EngineError(RuntimeError):
    """An engine failed in a way the room should report (and may recover from)."""

    retryable: bool = True
    """False when trying again cannot help (credentials, configuration, bad request)."""


class UnsupportedLanguage(EngineError):
    """The engine cannot handle the requested language."""

    retryable = False


@dataclass(frozen=True)
class Word:
    """One word of a result, with whether the engine will still change it."""

    text: str
    start: float
    end: float
    stable: bool
    """True when the engine promises not to revise this word (Transcribe's ``Stable``)."""


@dataclass(frozen=True)
class Hypothesis:
    """One recognizer result, times in seconds from the start of its stream."""

    text: str
    is_final: bool
    start: float
    end: float
    language: str
    """The language of this result: the stream's, or the one the engine identified."""
    words: tuple[Word, ...] = ()
    """Per-word detail when the engine gives it (empty for pocketsphinx)."""
    engine: str = ""
    """The engine that produced it, when a wrapper switches engines (else the room's)."""


@dataclass(frozen=True)
class RecognizerHealth:
    """What a recognizer says about itself for ``/healthz``, the status page and metrics."""

    offline: bool = False
    """True while the embedded engine captions in place of the cloud one the room asked for."""
    last_error: str | None = None
    """The latest failure the engine recovered from, or None."""
    switches: tuple[Mapping[str, str], ...] = ()
    """Recent engine switches, oldest first: ``{"at": ISO time, "to": engine, "reason"}``."""
    lag_s: float | None = None
    """How long ago the audio the engine is decoding now arrived (None: not measured)."""
    search: str | None = None
    """The speed step the embedded engine uses now (``accurate``, ``fast``, ...), or None."""
    behind: bool = False
    """True while the engine does not keep up with real time even at its fastest setting:
    captions come late and later."""


HEALTHY = RecognizerHealth()
"""The health of a recognizer with nothing to report."""


class RecognizerStream(Protocol):
    """One continuous stream of audio into a recognizer (one audio connection)."""

    async def send_audio(self, pcm: bytes) -> None:
        """Feed 16 kHz mono s16le audio; waits while the engine is behind (back-pressure)."""

    async def finish(self) -> None:
        """End of audio: the utterance in progress is finalized, then :meth:`results` ends."""

    def results(self) -> AsyncIterator[Hypothesis]:
        """Partials and finals in order; ends after :meth:`finish` or raises EngineError."""
        ...


class Recognizer(Protocol):
    """A streaming speech-to-text engine for one room."""

    @property
    def name(self) -> str:
        """Short engine name shown on screens and in /healthz (``"pocketsphinx"``)."""
        ...

    def supported_languages(self) -> frozenset[str] | None:
        """Languages it accepts, or None when it accepts any valid code."""
        ...

    async def open_stream(self, language: str) -> RecognizerStream:
        """Start a stream in ``language``; raises :class:`UnsupportedLanguage` or EngineError."""
        ...

    def health(self) -> RecognizerHealth:
        """Whether it stands in for another engine, its last error and its switches."""
        ...

    async def close(self) -> None:
        """Release processes, threads and connections."""


class Translator(Protocol):
    """Translates finalized sentences."""

    name: str

    async def translate(self, text: str, source: str, targets: Sequence[str]) -> Mapping[str, str]:
        """Translations of ``text`` for each target; a target that failed is absent."""
        ...


@runtime_checkable
class GlossaryUser(Protocol):
    """An engine that can use the room's glossary itself (optional, beside its main interface):
    Amazon Transcribe builds a custom vocabulary from it, Amazon Translate a custom terminology.
    The room hands it the glossary at start and whenever it changes (the schedule's names), and
    shows :meth:`glossary_status` in ``/healthz`` and on the status page."""

    def use_glossary(self, glossary: Glossary, languages: Sequence[str]) -> None:
        """Use ``glossary`` from now on, in the background (never delays a caption).
        ``languages``: the room's spoken language(s) first, then its translation targets."""

    def glossary_status(self) -> Mapping[str, Any] | None:
        """What became of the glossary in this engine (state, names, reasons), or None."""
        ...


@dataclass(frozen=True)
class SpeakingVoice:
    """The voice listeners hear in one language (told to them with every sentence)."""

    engine: str
    """The engine speaking (``amazon-polly``, ``espeak``)."""
    voice: str = ""
    """Its voice for the language (``Bianca``, ``it``), or empty when not known yet."""
    standing_in_for: str | None = None
    """The configured engine this one replaces while that one is unavailable, or None."""


@dataclass(frozen=True)
class SynthesizerHealth:
    """What a synthesizer says about itself for ``/healthz`` and the status page."""

    offline: bool = False
    """True while the local voice speaks in place of the cloud one the room asked for."""
    last_error: str | None = None
    """The latest failure of the cloud voice, or None."""
    switches: tuple[Mapping[str, str], ...] = ()
    """Recent voice switches, oldest first: ``{"at": ISO time, "to": engine, "reason"}``."""


SPEAKING = SynthesizerHealth()
"""The health of a synthesizer with nothing to report."""


class Synthesizer(Protocol):
    """Turns text into 16 kHz mono s16le speech."""

    @property
    def name(self) -> str:
        """Short engine name: the one speaking now (``"espeak"``, ``"amazon-polly"``)."""
        ...

    def voice(self, language: str) -> SpeakingVoice:
        """The voice speaking ``language`` now (during :meth:`synthesize`: that sentence's)."""
        ...

    def health(self) -> SynthesizerHealth:
        """Whether it stands in for another engine, its last error and its switches."""
        ...

    def synthesize(self, text: str, language: str) -> AsyncGenerator[bytes, None]:
        """PCM chunks as they are produced (close it to stop early)."""
        ...

    async def close(self) -> None:
        """Release processes, threads and connections."""

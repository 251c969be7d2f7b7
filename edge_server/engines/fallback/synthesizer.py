"""A cloud voice with the local one behind it: listeners keep hearing the room's translations
when Amazon Polly or the network goes away, and hear Polly again when it answers.

:class:`FallbackSynthesizer` is itself a :class:`Synthesizer`, so the room's speech does not
know about it. Each call of :meth:`~FallbackSynthesizer.synthesize` is one sentence, spoken by
exactly one voice: a sentence the cloud voice failed before any audio is retried (during the
grace period) or handed to the local voice; one that failed after its audio began ends there and
is not repeated. Decisions come from :mod:`.voice_policy`; this module only carries them out.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Callable
from typing import Protocol

from edge_server.core.engine_api import (
    EngineError,
    SpeakingVoice,
    Synthesizer,
    SynthesizerHealth,
    UnsupportedLanguage,
)
from edge_server.core.wall_time import utc_now
from edge_server.engines.fallback.voice_policy import (
    GiveUp,
    RetryPrimary,
    TryPrimary,
    UseFallback,
    VoiceFallbackPolicy,
    VoiceFallbackState,
    VoiceMode,
)

log = logging.getLogger(__name__)

SWITCH_HISTORY = 20


class CloudVoice(Synthesizer, Protocol):
    """A synthesizer that can be asked, cheaply, whether it answers (Amazon Polly)."""

    async def probe(self) -> None:
        """Return when the engine answers; raise EngineError when it does not."""


class LocalVoice(Synthesizer, Protocol):
    """A synthesizer that knows which languages it speaks (espeak-ng)."""

    async def supported(self, language: str) -> bool:
        """Whether it has a voice for ``language``."""
        ...


class VoiceUnavailable(EngineError):
    """No voice can speak this sentence now (the cloud is down, the local voice lacks the
    language)."""


class FirstAudioTimeout(EngineError):
    """The cloud voice sent no audio in time."""


class FallbackSynthesizer:
    """``primary`` (cloud) with ``fallback`` (local) behind it, per :class:`VoiceFallbackPolicy`."""

    def __init__(
        self,
        primary: CloudVoice,
        fallback: LocalVoice,
        policy: VoiceFallbackPolicy | None = None,
        label: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.label = label
        self.clock = clock
        self.state = VoiceFallbackState(policy or VoiceFallbackPolicy())
        self.switches: collections.deque[dict[str, str]] = collections.deque(maxlen=SWITCH_HISTORY)
        self.last_error: str | None = None
        self._speaking: dict[str, SpeakingVoice] = {}
        self._prober: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        """The engine speaking now."""
        return self.fallback.name if self.state.mode is VoiceMode.FALLBACK else self.primary.name

    def voice(self, language: str) -> SpeakingVoice:
        """The voice of the sentence being spoken in ``language`` (or of the last one)."""
        return self._speaking.get(language) or self.primary.voice(language)

    def health(self) -> SynthesizerHealth:
        """Offline while the local voice speaks; the last cloud error and recent switches."""
        return SynthesizerHealth(
            self.state.mode is VoiceMode.FALLBACK, self.last_error, tuple(self.switches)
        )

    async def synthesize(self, text: str, language: str) -> AsyncGenerator[bytes, None]:
        """One sentence, by whichever voice the policy chooses; raises EngineError (or
        :class:`VoiceUnavailable`) when it cannot be spoken."""
        state = self.state
        while True:
            speaks = await self._fallback_speaks(language)
            choice = state.choose(self.clock(), speaks)
            if isinstance(choice, UseFallback):
                async with contextlib.aclosing(self._local(text, language)) as chunks:
                    async for chunk in chunks:
                        yield chunk
                return
            if isinstance(choice, GiveUp):
                raise self._silent(language, choice.reason)
            attempt_started = self.clock()
            failure = await self._try_primary(text, language, choice)
            if not isinstance(failure, EngineError):
                async with contextlib.aclosing(failure) as chunks:
                    async for chunk in chunks:
                        yield chunk
                return
            decision = state.primary_failed(
                self.clock(), failure.retryable, str(failure), speaks, attempt_started
            )
            if isinstance(decision, RetryPrimary):
                await asyncio.sleep(decision.delay_s)
                continue
            if decision.switched:
                self._record_switch(self.fallback.name, state.reason)
                self._start_prober()
            if isinstance(decision, GiveUp):
                raise self._silent(language, decision.reason)
            # UseFallback: the next turn of the loop speaks with it

    async def _try_primary(
        self, text: str, language: str, choice: TryPrimary
    ) -> AsyncGenerator[bytes, None] | EngineError:
        """The cloud voice's chunks once its first audio came, or the failure before it."""
        source = self.primary.synthesize(text, language)
        try:
            first = await asyncio.wait_for(anext(source), choice.timeout_s)
        except StopAsyncIteration:
            self.state.primary_ok()
            return _chunks(b"")
        except UnsupportedLanguage:
            raise  # the language, not the service: the room reports it as before
        except (EngineError, TimeoutError) as exc:
            with contextlib.suppress(EngineError, TimeoutError):
                await source.aclose()
            if isinstance(exc, TimeoutError):
                exc = FirstAudioTimeout(f"no audio from {self.primary.name} in "
                                        f"{choice.timeout_s:.1f} s")  # fmt: skip
            self.last_error = f"{self.primary.name}: {exc}"
            log.warning("%s: %s failed: %s", self.label, self.primary.name, exc)
            return exc
        self._speaking[language] = self.primary.voice(language)
        return self._rest_of_primary(first, source)

    async def _rest_of_primary(
        self, first: bytes, source: AsyncGenerator[bytes, None]
    ) -> AsyncGenerator[bytes, None]:
        try:
            yield first
            async for chunk in source:
                yield chunk
        except EngineError as exc:
            self.last_error = f"{self.primary.name}: {exc}"
            if self.state.primary_cut(self.clock(), str(exc)):
                self._record_switch(self.fallback.name, str(exc))
                self._start_prober()
            raise
        finally:
            await source.aclose()
        self.state.primary_ok()

    async def _local(self, text: str, language: str) -> AsyncGenerator[bytes, None]:
        own = self.fallback.voice(language)
        self._speaking[language] = SpeakingVoice(own.engine, own.voice, self.primary.name)
        async with contextlib.aclosing(self.fallback.synthesize(text, language)) as chunks:
            async for chunk in chunks:
                if not self._speaking[language].voice:  # its voice list was read meanwhile
                    own = self.fallback.voice(language)
                    self._speaking[language] = SpeakingVoice(
                        own.engine, own.voice, self.primary.name
                    )
                yield chunk

    def _silent(self, language: str, reason: str) -> VoiceUnavailable:
        self._speaking[language] = SpeakingVoice(self.fallback.name, "", self.primary.name)
        return VoiceUnavailable(reason)

    async def _fallback_speaks(self, language: str) -> bool:
        try:
            return await self.fallback.supported(language)
        except EngineError:  # the local voice is not installed
            return False

    def _record_switch(self, to: str, reason: str) -> None:
        self.switches.append({"at": utc_now("seconds"), "to": to, "reason": reason})
        log.warning("%s: listeners now hear %s (%s)", self.label, to, reason)

    def _start_prober(self) -> None:
        if self._prober is None or self._prober.done():
            self._prober = asyncio.create_task(self._probe(), name=f"voice-probe {self.label}")

    async def _probe(self) -> None:
        """While the local voice speaks: ask the cloud one now and then; when it answers, the
        next sentences are its again."""
        while self.state.mode is VoiceMode.FALLBACK:
            await asyncio.sleep(self.state.next_probe_delay())
            try:
                await self.primary.probe()
            except EngineError as exc:
                log.info("%s: %s still unavailable: %s", self.label, self.primary.name, exc)
                continue
            if self.state.probe_ok():
                self._record_switch(self.primary.name, f"{self.primary.name} answers again")

    async def close(self) -> None:
        """Stop probing and close both voices."""
        if self._prober is not None:
            self._prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prober
        for engine in (self.primary, self.fallback):
            with contextlib.suppress(EngineError):
                await engine.close()


async def _chunks(*chunks: bytes) -> AsyncGenerator[bytes, None]:
    for chunk in chunks:
        if chunk:
            yield chunk

"""A cloud recognizer with the embedded one behind it: the room keeps captioning when the cloud
or the network goes away, and goes back to the cloud when it returns.

:class:`FallbackRecognizer` is itself a :class:`Recognizer`, so rooms do not know about it.
Its stream keeps the audio that no final has covered yet; whichever engine takes over is fed
that audio first, so a switch neither loses nor repeats a sentence. Decisions come from
:mod:`.policy`; this module only carries them out.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from edge_server.contract.audio_format import BYTES_PER_SECOND, DEFAULT_MAX_FRAME_BYTES
from edge_server.core.engine_api import (
    HEALTHY,
    EngineError,
    GlossaryUser,
    Hypothesis,
    Recognizer,
    RecognizerHealth,
    RecognizerStream,
)
from edge_server.core.glossary import Glossary
from edge_server.core.wall_time import utc_now
from edge_server.engines.fallback.policy import (
    FallbackPolicy,
    FallbackState,
    Mode,
    Retry,
    SwitchToFallback,
)

log = logging.getLogger(__name__)

MAX_PENDING_S = 60.0
"""Audio kept for replay while no engine works; older audio is dropped (and logged)."""
SWITCH_HISTORY = 20


class FallbackRecognizer:
    """``primary`` (cloud) with ``fallback`` (embedded) behind it, per :class:`FallbackPolicy`."""

    def __init__(
        self,
        primary: Recognizer,
        fallback: Recognizer | None,
        policy: FallbackPolicy | None = None,
        label: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.label = label
        self.clock = clock
        self.state = FallbackState(policy or FallbackPolicy(), has_fallback=fallback is not None)
        self.switches: collections.deque[dict[str, str]] = collections.deque(maxlen=SWITCH_HISTORY)
        self.last_error: str | None = None

    @property
    def name(self) -> str:
        """The engine captioning now."""
        if self.state.mode is Mode.FALLBACK and self.fallback is not None:
            return self.fallback.name
        return self.primary.name

    @property
    def offline(self) -> bool:
        """True while the fallback engine captions instead of the primary."""
        return self.state.mode is Mode.FALLBACK

    def health(self) -> RecognizerHealth:
        """Offline while the fallback captions (then with its lag and speed step); the last
        cloud error and the recent switches."""
        pace = self.fallback.health() if self.offline and self.fallback else HEALTHY
        return RecognizerHealth(
            self.offline,
            self.last_error,
            tuple(self.switches),
            lag_s=pace.lag_s,
            search=pace.search,
            behind=pace.behind,
        )

    def supported_languages(self) -> frozenset[str] | None:
        """The primary's languages: the fallback may cover fewer (then it cannot take over)."""
        return self.primary.supported_languages()

    def record_switch(self, to: str, reason: str) -> None:
        """Log a switch and keep it for /healthz."""
        self.switches.append({"at": utc_now("seconds"), "to": to, "reason": reason})
        log.warning("%s: captions now from %s (%s)", self.label, to, reason)

    def use_glossary(self, glossary: Glossary, languages: Sequence[str]) -> None:
        """Hand the glossary to both engines (those that use it themselves)."""
        for engine in (self.primary, self.fallback):
            if isinstance(engine, GlossaryUser):
                engine.use_glossary(glossary, languages)

    def glossary_status(self) -> Mapping[str, Any] | None:
        """The primary's (the cloud engine's custom vocabularies), else the fallback's."""
        for engine in (self.primary, self.fallback):
            if isinstance(engine, GlossaryUser):
                status = engine.glossary_status()
                if status is not None:
                    return status
        return None

    async def open_stream(self, language: str) -> FallbackStream:
        """A stream that starts on the primary (or wherever the policy says the room is)."""
        stream = FallbackStream(self, language)
        await stream.start()
        return stream

    async def close(self) -> None:
        """Close both engines."""
        for engine in (self.primary, self.fallback):
            if engine is not None:
                with contextlib.suppress(EngineError):
                    await engine.close()


class FallbackStream:
    """One audio connection's stream, moved between engines as needed."""

    def __init__(self, owner: FallbackRecognizer, language: str) -> None:
        self._owner = owner
        self._language = language
        fallback = owner.fallback
        langs = fallback.supported_languages() if fallback is not None else None
        self._fallback = fallback if langs is None or language in langs else None
        """The fallback engine, if it understands this stream's language."""
        owner.state.has_fallback = self._fallback is not None
        self._results: asyncio.Queue[Hypothesis | BaseException | None] = asyncio.Queue()
        self._pending = bytearray()
        self._pending_origin = 0
        """Absolute byte position (in all audio of this stream) of ``_pending[0]``."""
        self._inner: RecognizerStream | None = None
        self._inner_engine: Recognizer | None = None
        self._inner_base = 0.0
        self._generation = 0
        self._pump: asyncio.Task[None] | None = None
        self._recovery: asyncio.Task[None] | None = None
        self._prober: asyncio.Task[None] | None = None
        self._primary_back = False
        self._lock = asyncio.Lock()
        self._finishing = False

    # --- the RecognizerStream interface --------------------------------------------------------

    async def start(self) -> None:
        """Open the first inner stream (a failure starts recovery, it is not raised)."""
        owner = self._owner
        if owner.state.mode is Mode.FALLBACK and self._fallback is not None:
            await self._switch_to(self._fallback)
            self._start_prober()
            return
        try:
            await self._switch_to(owner.primary)
        except EngineError as exc:
            self._start_recovery(exc)

    async def send_audio(self, pcm: bytes) -> None:
        """Keep ``pcm`` until a final covers it, and feed it to the engine working now."""
        self._pending += pcm
        excess = len(self._pending) - int(MAX_PENDING_S * BYTES_PER_SECOND)
        if excess > 0:
            excess += excess % 2
            del self._pending[:excess]
            self._pending_origin += excess
            log.error("%s: no engine for %.0f s: dropping audio", self._owner.label, MAX_PENDING_S)
        inner, generation = self._inner, self._generation
        if inner is None:
            return
        try:
            await inner.send_audio(pcm)
        except EngineError as exc:
            self._inner_failed(generation, exc)

    async def finish(self) -> None:
        """Finalize everything received, on whichever engine can, then end :meth:`results`."""
        self._finishing = True
        for task in (self._prober, self._recovery):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, EngineError):
                    await task
        async with self._lock:
            if self._inner is None and self._pending:
                await self._finish_on_any_engine()
            if self._inner is not None:
                await self._close_inner()
        await self._results.put(None)

    async def results(self) -> AsyncIterator[Hypothesis]:
        """Results of every engine the stream used, in order, on one timeline."""
        while True:
            item = await self._results.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    # --- moving between engines ---------------------------------------------------------------

    async def _switch_to(self, engine: Recognizer) -> None:
        """Open ``engine`` and feed it the audio no final covers yet, including audio that
        arrives meanwhile; only then does new audio go to it directly."""
        stream = await engine.open_stream(self._language)
        self._generation += 1
        self._inner, self._inner_engine = None, engine
        position = self._pending_origin
        self._inner_base = position / BYTES_PER_SECOND
        self._pump = asyncio.create_task(self._pump_results(stream, self._generation))
        while True:  # finals of this very stream may trim the buffer meanwhile: absolute offsets
            offset = max(0, position - self._pending_origin)
            chunk = bytes(self._pending[offset : offset + DEFAULT_MAX_FRAME_BYTES])
            if not chunk:
                break
            await stream.send_audio(chunk)
            position += len(chunk)
        self._inner = stream

    async def _close_inner(self) -> None:
        """Finish the inner stream and wait until all its results are queued."""
        inner, pump = self._inner, self._pump
        self._inner = None
        if inner is not None:
            with contextlib.suppress(EngineError):
                await inner.finish()
        if pump is not None:
            with contextlib.suppress(EngineError):
                await asyncio.wait_for(pump, 60.0)

    async def _finish_on_any_engine(self) -> None:
        for engine in (self._fallback, self._owner.primary):
            if engine is None:
                continue
            try:
                await self._switch_to(engine)
                return
            except EngineError as exc:
                log.error("%s: cannot finalize on %s: %s", self._owner.label, engine.name, exc)
        await self._results.put(EngineError("no recognizer could finalize the last audio"))

    async def _pump_results(self, stream: RecognizerStream, generation: int) -> None:
        engine_name = self._inner_engine.name if self._inner_engine is not None else ""
        try:
            async for hyp in stream.results():
                if generation != self._generation:
                    return
                shifted = replace(
                    hyp,
                    start=hyp.start + self._inner_base,
                    end=hyp.end + self._inner_base,
                    engine=hyp.engine or engine_name,
                )
                if hyp.is_final:
                    self._trim_pending(shifted.end)
                    if self._inner_engine is self._owner.primary:
                        self._owner.state.primary_ok()
                await self._results.put(shifted)
                if hyp.is_final and self._primary_back and not self._finishing:
                    asyncio.create_task(self._switch_back())  # noqa: RUF006 - joins via lock
        except EngineError as exc:
            self._inner_failed(generation, exc)

    def _trim_pending(self, covered_until: float) -> None:
        drop = int(covered_until * BYTES_PER_SECOND) - self._pending_origin
        drop = max(0, min(drop - drop % 2, len(self._pending)))
        del self._pending[:drop]
        self._pending_origin += drop

    def _inner_failed(self, generation: int, exc: EngineError) -> None:
        if generation != self._generation or self._inner_engine is None:
            return  # already handled
        engine = self._inner_engine
        self._inner, self._inner_engine = None, None
        self._owner.last_error = f"{engine.name if engine else '?'}: {exc}"
        log.warning("%s: %s failed: %s", self._owner.label, engine and engine.name, exc)
        if self._finishing:
            return
        self._start_recovery(exc)

    def _start_recovery(self, exc: EngineError) -> None:
        if self._recovery is None or self._recovery.done():
            self._recovery = asyncio.create_task(self._recover(exc))

    async def _recover(self, exc: EngineError) -> None:
        """Reopen an engine after ``exc``: the primary after a delay, or the fallback."""
        owner = self._owner
        while not self._finishing:
            switching = False
            if owner.state.mode is Mode.FALLBACK and self._fallback is not None:
                target, delay = self._fallback, owner.state.policy.retry.first_s  # it crashed
            else:
                decision = owner.state.primary_failed(owner.clock(), exc.retryable, str(exc))
                if isinstance(decision, SwitchToFallback) and self._fallback is not None:
                    target, delay, switching = self._fallback, 0.0, True
                else:
                    # Retry, or SwitchToFallback without a fallback: the primary once more
                    retry_s = decision.delay_s if isinstance(decision, Retry) else 1.0
                    target, delay = owner.primary, retry_s
            await asyncio.sleep(delay)
            async with self._lock:
                if self._finishing:
                    return
                try:
                    await self._switch_to(target)
                except EngineError as retry_exc:
                    exc = retry_exc
                    continue
            if switching:
                owner.record_switch(target.name, str(exc))
                self._start_prober()
            return

    def _start_prober(self) -> None:
        if self._prober is None or self._prober.done():
            self._prober = asyncio.create_task(self._probe_primary())

    async def _probe_primary(self) -> None:
        """While on the fallback: try the primary now and then; when it answers, switch back
        at the next final."""
        owner = self._owner
        while not self._finishing:
            await asyncio.sleep(owner.state.next_probe_delay())
            try:
                probe = await owner.primary.open_stream(self._language)
                await probe.finish()
                async for _ in probe.results():
                    pass
            except EngineError as exc:
                log.info("%s: %s still unavailable: %s", owner.label, owner.primary.name, exc)
                continue
            log.info("%s: %s answers again; switching back at the next pause", owner.label,
                     owner.primary.name)  # fmt: skip
            self._primary_back = True
            if not self._pending:  # already at a pause
                await self._switch_back()
            return

    async def _switch_back(self) -> None:
        owner = self._owner
        async with self._lock:
            if not self._primary_back or self._finishing:
                return
            self._primary_back = False
            await self._close_inner()
            try:
                await self._switch_to(owner.primary)
            except EngineError as exc:
                if self._fallback is not None:
                    await self._switch_to(self._fallback)
                self._start_prober()
                log.warning("%s: switch back failed: %s", owner.label, exc)
                return
            owner.state.primary_ok()
            owner.record_switch(owner.primary.name, "cloud reachable again")

"""The embedded offline recognizer: pocketsphinx in a supervised worker process per room.

pocketsphinx keeps the GIL while it decodes (measured: event-loop stalls of up to 0.8 s when it
ran in a thread), so each room's decoder lives in its own process. Audio goes down the worker's
stdin (a full pipe slows the uplink: back-pressure, never loss); results come back as JSON lines.
A worker that dies is reported as an :class:`EngineError` and replaced on the next stream.

The worker reports how far it has decoded; the stream compares that with when the audio arrived
(its lag) and a :class:`~edge_server.core.pace.PaceGovernor` moves the worker along the speed
ladder of :mod:`.search` (setting ``offline_search = "adaptive"``, the default): faster when it
falls behind, back to the accurate search when it has kept up for a minute. The lag, the step in
use and whether the room is behind even at the fastest step are in :meth:`health`.

pocketsphinx writes lowercase words without punctuation; its hypotheses leave here in sentence
case (:mod:`edge_server.core.sentence_case`), so screens, the transcript and every export show
the same text.

The room's glossary (:meth:`PocketsphinxRecognizer.use_glossary`) goes to the worker when it
starts and whenever it changes; the worker teaches its words to the decoder (see
:mod:`.vocabulary`) and says what it did, which is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from edge_server.core.engine_api import (
    HEALTHY,
    EngineError,
    Hypothesis,
    RecognizerHealth,
    UnsupportedLanguage,
)
from edge_server.core.glossary import Glossary
from edge_server.core.latency import ArrivalClock
from edge_server.core.pace import PaceGovernor, PaceRules
from edge_server.core.sentence_case import sentence_case
from edge_server.engines.pocketsphinx.search import ladder_for
from edge_server.engines.pocketsphinx.vocabulary import WrittenForm, forms_to_json, written_forms
from edge_server.engines.pocketsphinx.worker_protocol import (
    MAX_PAYLOAD,
    Command,
    DecoderOptions,
    decode_event,
    encode_command,
)

log = logging.getLogger(__name__)

SUPPORTED = frozenset({"en-US"})
START_TIMEOUT_S = 30.0
BYTES_PER_S = 32000
ARRIVAL_MARKS = 20000
"""Arrival times kept per stream: many minutes of frames, so a long lag is still measured."""


class _Worker:
    """One running worker process and its pipes."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        assert proc.stdin is not None
        assert proc.stdout is not None
        self.stdin = proc.stdin
        self.stdout = proc.stdout

    @classmethod
    async def start(cls, label: str, options: DecoderOptions) -> _Worker:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "edge_server.engines.pocketsphinx.worker",
            json.dumps(dataclasses.asdict(options)),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        worker = cls(proc)
        try:
            event = await asyncio.wait_for(worker.read_event(), START_TIMEOUT_S)
        except (TimeoutError, EngineError):
            await worker.stop()
            raise
        if event.get("t") != "ready":
            await worker.stop()
            raise EngineError(f"recognizer worker for {label} did not start: {event}")
        log.info("recognizer worker for %s started (pid %d)", label, proc.pid)
        return worker

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    async def send(self, command: Command, payload: bytes = b"") -> None:
        try:
            self.stdin.write(encode_command(command, payload))
            await self.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise EngineError(f"recognizer worker exited ({exc.__class__.__name__})") from None

    def send_nowait(self, command: Command, payload: bytes = b"") -> None:
        """Queue a small record without waiting for the pipe (the next audio's drain covers
        it); a dead worker is found by the next :meth:`send`."""
        with contextlib.suppress(OSError, RuntimeError):
            self.stdin.write(encode_command(command, payload))

    async def read_event(self) -> dict[str, object]:
        line = await self.stdout.readline()
        if not line:
            code = await self.proc.wait()
            raise EngineError(f"recognizer worker exited with status {code}")
        try:
            return decode_event(line)
        except ValueError as exc:
            raise EngineError(str(exc)) from None

    async def stop(self) -> None:
        if self.alive:
            with contextlib.suppress(OSError):
                self.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 3.0)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


class PocketsphinxStream:
    """One audio connection's stream through the room's worker."""

    def __init__(self, worker: _Worker, language: str, owner: PocketsphinxRecognizer) -> None:
        self._worker = worker
        self._language = language
        self._owner = owner
        self._finished = False
        self._sent_s = 0.0
        self._arrivals = ArrivalClock(keep=ARRIVAL_MARKS)

    async def send_audio(self, pcm: bytes) -> None:
        """Feed PCM to the worker; waits while the worker's pipe is full."""
        self._sent_s += len(pcm) / BYTES_PER_S
        self._arrivals.record(self._sent_s, time.monotonic())
        await self._worker.send(Command.AUDIO, pcm)

    async def finish(self) -> None:
        """Ask the worker to finalize; :meth:`results` ends when it has."""
        if not self._finished:
            self._finished = True
            await self._worker.send(Command.FINISH)

    async def results(self) -> AsyncIterator[Hypothesis]:
        """Partials and finals until the worker confirms the stream is finished."""
        while True:
            event = await self._worker.read_event()
            kind = event["t"]
            if kind == "finished":
                return
            if kind == "error":
                raise EngineError(f"recognizer failed: {event.get('message')}")
            if kind == "progress":
                arrived = self._arrivals.arrival_of(float(event["at"]))  # type: ignore[arg-type]
                if arrived is not None:
                    self._owner.observe_lag(time.monotonic() - arrived)
            elif kind in ("step", "glossary"):
                self._owner.worker_event(event)
            elif kind in ("partial", "final"):
                yield Hypothesis(
                    text=sentence_case(str(event["text"]), final=kind == "final"),
                    is_final=kind == "final",
                    start=float(event["start"]),  # type: ignore[arg-type]
                    end=float(event["end"]),  # type: ignore[arg-type]
                    language=self._language,
                )


class PocketsphinxRecognizer:
    """The room's embedded recognizer; one worker process, one stream at a time."""

    name = "pocketsphinx"

    def __init__(
        self, label: str, options: DecoderOptions | None = None, pace: PaceRules | None = None
    ) -> None:
        self._label = label
        self._options = options or DecoderOptions()
        self._worker: _Worker | None = None
        self._ladder = ladder_for(self._options.search)
        self._pace = PaceGovernor(len(self._ladder), pace)
        self._search = self._ladder[0].name
        self._glossary: tuple[WrittenForm, ...] = ()

    def use_glossary(self, glossary: Glossary, languages: Sequence[str] = ()) -> None:
        """Teach the worker ``glossary``'s words (now if it runs, else when it starts); the
        same glossary again is not resent. ``languages`` does not matter: en-US only."""
        forms = written_forms(glossary)
        if forms == self._glossary:
            return
        self._glossary = forms
        if self._worker is not None and self._worker.alive:
            self._send_glossary(self._worker)

    def glossary_status(self) -> Mapping[str, Any] | None:
        """None: what the worker did with the glossary is in the log (the status page's
        glossary line is about the cloud engines)."""
        return None

    def _send_glossary(self, worker: _Worker) -> None:
        payload = json.dumps(forms_to_json(self._glossary)).encode()
        if len(payload) > MAX_PAYLOAD:  # 5000 entries of 200 characters: not sent, said so
            log.error(
                "%s: the glossary is too large for the offline recognizer (%d bytes, at most "
                "%d); it is applied to finals only", self._label, len(payload), MAX_PAYLOAD,
            )  # fmt: skip
            return
        worker.send_nowait(Command.GLOSSARY, payload)

    def worker_event(self, event: dict[str, object]) -> None:
        """A ``step`` or ``glossary`` event from the worker."""
        if event["t"] == "step":
            self.step_applied(int(event["step"]), str(event.get("name")))  # type: ignore[call-overload]
        elif "error" in event:
            log.error("%s: the offline recognizer refused the glossary: %s", self._label, event)
        else:
            log.info(
                "%s: offline recognizer glossary: %s words added, already known %s, "
                "without a pronunciation %s",
                self._label, event.get("added"), event.get("known"), event.get("unpronounceable"),
            )  # fmt: skip

    def observe_lag(self, lag_s: float) -> None:
        """One lag reading from the worker: maybe ask it for another speed step."""
        decision = self._pace.observe(lag_s, time.monotonic())
        if decision.changed and self._worker is not None and self._worker.alive:
            name = self._ladder[decision.step].name
            log.warning(
                "%s: offline recognizer switching to the %s search (%s)",
                self._label,
                name,
                decision.reason,
            )
            self._worker.send_nowait(Command.STEP, json.dumps({"step": decision.step}).encode())
        elif decision.reason:
            level = logging.WARNING if decision.behind else logging.INFO
            log.log(level, "%s: offline recognizer %s", self._label, decision.reason)

    def step_applied(self, step: int, name: str) -> None:
        """The worker uses ``name`` (step ``step``) from now on."""
        self._search = name
        log.info("%s: offline recognizer now on step %d (%s)", self._label, step, name)

    def supported_languages(self) -> frozenset[str]:
        """pocketsphinx's wheel carries an en-US model only."""
        return SUPPORTED

    async def open_stream(self, language: str) -> PocketsphinxStream:
        """Start (or reuse) the worker and begin a stream."""
        if language not in SUPPORTED:
            raise UnsupportedLanguage(
                f"the offline recognizer understands only {', '.join(sorted(SUPPORTED))}, "
                f"not {language}"
            )
        if self._worker is None or not self._worker.alive:
            self._worker = await _Worker.start(self._label, self._options)
            self._search = self._ladder[0].name
            if self._glossary:
                self._send_glossary(self._worker)
        worker = self._worker
        await worker.send(Command.START)
        event = await worker.read_event()
        while event.get("t") in ("glossary", "step"):  # answers to what came between streams
            self.worker_event(event)
            event = await worker.read_event()
        if event.get("t") != "started":
            raise EngineError(f"recognizer worker answered {event} to START")
        # A new worker starts on step 0; tell it where the room is.
        if self._pace.step:
            worker.send_nowait(Command.STEP, json.dumps({"step": self._pace.step}).encode())
        return PocketsphinxStream(worker, language, self)

    async def discard_worker(self) -> None:
        """Stop the worker (after an error mid-stream its pipe state is unknown)."""
        if self._worker is not None:
            await self._worker.stop()
            self._worker = None

    def health(self) -> RecognizerHealth:
        """The lag, the speed step and whether it falls behind (failures reach the room as
        stream errors)."""
        lag = self._pace.lag_s
        return dataclasses.replace(
            HEALTHY,
            lag_s=None if lag is None else round(lag, 2),
            search=self._search,
            behind=self._pace.behind,
        )

    async def close(self) -> None:
        """Stop the worker process."""
        await self.discard_worker()

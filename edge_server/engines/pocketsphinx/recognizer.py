"""The embedded offline recognizer: pocketsphinx in a supervised worker process per room.

pocketsphinx keeps the GIL while it decodes (measured: event-loop stalls of up to 0.8 s when it
ran in a thread), so each room's decoder lives in its own process. Audio goes down the worker's
stdin (a full pipe slows the uplink: back-pressure, never loss); results come back as JSON lines.
A worker that dies is reported as an :class:`EngineError` and replaced on the next stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import sys
from collections.abc import AsyncIterator

from edge_server.core.engine_api import (
    HEALTHY,
    EngineError,
    Hypothesis,
    RecognizerHealth,
    UnsupportedLanguage,
)
from edge_server.engines.pocketsphinx.worker_protocol import (
    Command,
    DecoderOptions,
    decode_event,
    encode_command,
)

log = logging.getLogger(__name__)

SUPPORTED = frozenset({"en-US"})
START_TIMEOUT_S = 30.0


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

    def __init__(self, worker: _Worker, language: str) -> None:
        self._worker = worker
        self._language = language
        self._finished = False

    async def send_audio(self, pcm: bytes) -> None:
        """Feed PCM to the worker; waits while the worker's pipe is full."""
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
            if kind in ("partial", "final"):
                yield Hypothesis(
                    text=str(event["text"]),
                    is_final=kind == "final",
                    start=float(event["start"]),  # type: ignore[arg-type]
                    end=float(event["end"]),  # type: ignore[arg-type]
                    language=self._language,
                )


class PocketsphinxRecognizer:
    """The room's embedded recognizer; one worker process, one stream at a time."""

    name = "pocketsphinx"

    def __init__(self, label: str, options: DecoderOptions | None = None) -> None:
        self._label = label
        self._options = options or DecoderOptions()
        self._worker: _Worker | None = None

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
        worker = self._worker
        await worker.send(Command.START)
        event = await worker.read_event()
        if event.get("t") != "started":
            raise EngineError(f"recognizer worker answered {event} to START")
        return PocketsphinxStream(worker, language)

    async def discard_worker(self) -> None:
        """Stop the worker (after an error mid-stream its pipe state is unknown)."""
        if self._worker is not None:
            await self._worker.stop()
            self._worker = None

    def health(self) -> RecognizerHealth:
        """Nothing to report: failures reach the room as stream errors."""
        return HEALTHY

    async def close(self) -> None:
        """Stop the worker process."""
        await self.discard_worker()

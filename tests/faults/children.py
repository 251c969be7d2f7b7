"""A child process of a fault test whose stdout is JSON lines (read as they come) and whose
stderr goes to a log file; stopped by its PID (SIGTERM, then SIGKILL).

Started with an ``ip netns exec`` prefix it is still this PID: ``ip`` execs the command, so
``/proc/<pid>`` is the program's own (memory, descriptors).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tests.faults.helpers import child_env, wait_until


class JsonChild:
    """One child process; :attr:`lines` are its stdout lines, parsed (``{"_text": ...}``
    for a line that is not JSON)."""

    def __init__(self, name: str, log: Path) -> None:
        self.name = name
        self.log = log
        self.lines: list[dict[str, Any]] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        """Its process id."""
        assert self.proc is not None
        return self.proc.pid

    @property
    def running(self) -> bool:
        """True until it exits."""
        return self.proc is not None and self.proc.returncode is None

    async def start(self, command: Sequence[str], env: dict[str, str] | None = None) -> JsonChild:
        """Start ``command`` with ``env`` (default: the repository importable, no stray
        settings)."""
        with self.log.open("ab") as err:
            self.proc = await asyncio.create_subprocess_exec(
                *command,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
                env=env if env is not None else child_env(),
                limit=2**24,
            )
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            try:
                self.lines.append(json.loads(raw))
            except ValueError:
                self.lines.append({"_text": raw.decode(errors="replace").strip()})

    def log_text(self, tail: int = 4000) -> str:
        """The end of its stderr."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text[-tail:]

    def last(self, key: str) -> dict[str, Any] | None:
        """The newest line that has ``key``."""
        return next((line for line in reversed(self.lines) if key in line), None)

    async def wait_line(
        self, test: Callable[[dict[str, Any]], bool], timeout: float, what: str
    ) -> dict[str, Any]:
        """Wait for a line that passes ``test``; that line."""

        def found() -> bool:
            if (
                self.proc is not None
                and self.proc.returncode is not None
                and not any(test(line) for line in self.lines)
            ):
                raise AssertionError(f"{self.name} exited ({self.proc.returncode}) before {what}")
            return any(test(line) for line in self.lines)

        await wait_until(found, timeout, f"{what} ({self.name}: {self.log_text(800)})")
        return next(line for line in self.lines if test(line))

    def signal(self, number: int) -> None:
        """Send signal ``number`` to it (by PID)."""
        assert self.proc is not None
        self.proc.send_signal(number)

    async def kill9(self) -> None:
        """SIGKILL it (by PID) and reap it."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await asyncio.wait_for(self.proc.wait(), 10)

    async def stop(self, wait: float = 15.0) -> int | None:
        """SIGTERM (by PID) and wait; SIGKILL if it does not stop. Its exit code."""
        if self.proc is None:
            return None
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), wait)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._reader is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._reader, 5)
        return self.proc.returncode

"""``edge-audio run`` as systemd runs it, against a real PipeWire: its log and its systemd
notifications (the audio node tests and the fault suite's server kill)."""

from __future__ import annotations

import asyncio
import signal
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from tests.helpers.pipewire_session import PATTERN
from tests.helpers.processes import EDGE_AUDIO
from tests.helpers.waiting import wait_until

if TYPE_CHECKING:
    from tests.helpers.pipewire_session import PipeWireSession

STEP = 30.0  # seconds: the bound on every await of a node process


class NodeProcess:
    """``edge-audio run`` as a subprocess, with its log and its systemd notifications."""

    def __init__(self, pw: PipeWireSession, tmp: Path, server: str, room: str = "main") -> None:
        self.env_file = tmp / f"edge-audio-{room}.env"
        self.env_file.write_text(
            f"# test settings\nEDGE_AUDIO_SERVER={server}\nEDGE_AUDIO_ROOM={room}\n"
            f'EDGE_AUDIO_LANG=en-US\nEDGE_AUDIO_DEVICE="{PATTERN}"\n'
        )
        self.notify_path = tmp / f"notify-{room}"
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(self.notify_path))
        self.notify.setblocking(False)
        self.env = {**pw.env, "NOTIFY_SOCKET": str(self.notify_path), "WATCHDOG_USEC": "2000000"}
        self.log: list[str] = []
        self.notes: list[str] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> NodeProcess:
        self.proc = await asyncio.create_subprocess_exec(
            *EDGE_AUDIO, "run", "--env-file", str(self.env_file),
            env=self.env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        self._tasks = [
            asyncio.create_task(self._read_log()),
            asyncio.create_task(self._read_notes()),
        ]
        return self

    async def _read_log(self) -> None:
        assert self.proc is not None
        assert self.proc.stderr is not None
        async for line in self.proc.stderr:
            self.log.append(line.decode(errors="replace").rstrip())

    async def _read_notes(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            data = await loop.sock_recv(self.notify, 4096)
            self.notes.extend(data.decode().splitlines())

    async def wait_note(self, note: str, timeout: float = STEP) -> None:
        await wait_until(lambda: note in self.notes, timeout, f"{note} ({self.text()})")

    async def wait_log(self, text: str, count: int = 1, timeout: float = STEP) -> None:
        await wait_until(
            lambda: sum(text in line for line in self.log) >= count,
            timeout,
            f"log {text!r}: {self.text()}",
        )

    def text(self) -> str:
        return "\n".join(self.log[-30:])

    async def stop(self) -> int:
        """SIGTERM, as systemd stops it; the exit code."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(self.proc.wait(), STEP)
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()
            await asyncio.sleep(0.05)
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self.notify.close()
        return code

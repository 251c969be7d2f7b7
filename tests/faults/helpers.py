"""Shared pieces of the fault suite: server processes, word audio, waiting, /proc readings."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import struct
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.helpers.paths import ROOT
from tests.helpers.scripted_engine import CHUNK_BYTES, word_audio
from tests.helpers.waiting import wait_for_async, wait_until

__all__ = ["CHUNK_BYTES", "wait_for_async", "wait_until", "word_audio"]

PYTHON = sys.executable
SCRIPTED_SERVER = [PYTHON, "-m", "tests.faults.serve_scripted"]
REAL_SERVER = [PYTHON, "-m", "edge_server.cli", "serve"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child Python: this repository importable, no stray settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDGE_SERVER_", "EDGE_AUDIO_"))}
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def sentence_frames(words: Sequence[int], frame_bytes: int = 3200) -> list[bytes]:
    """Audio for ``words`` then a pause, cut in uplink frames (scripted-engine encoding)."""
    pcm = b"".join(word_audio(n) for n in [*words, 0])
    return [pcm[i : i + frame_bytes] for i in range(0, len(pcm), frame_bytes)]


def words_in(records: Sequence[dict[str, Any]]) -> list[int]:
    """The word numbers of scripted finals (``"w3 w4"`` -> ``[3, 4]``), in order."""
    return [int(w[1:]) for r in records for w in str(r["text"]).split() if w.startswith("w")]


def read_transcript(path: Path) -> list[dict[str, Any]]:
    """Every line of a transcript file, each parsed (fails on a line that is not JSON)."""
    if not path.exists():
        return []
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"", "the transcript must end with a whole line"
    return [json.loads(line) for line in lines[:-1]]


def first_sample(pcm: bytes) -> int:
    """The first sample of a frame (the scripted word it carries)."""
    (value,) = struct.unpack_from("<h", pcm)
    return int(value)


# --- /proc ------------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` (VmRSS, KiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def fd_count(pid: int) -> int:
    """Open file descriptors of ``pid``."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def children_of(pid: int) -> list[int]:
    """The direct children of ``pid`` (from ``/proc/<pid>/task/*/children``)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def kill_pid(pid: int) -> None:
    """SIGKILL one process this test started (directly or as its server's worker)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


# --- a server as a child process ----------------------------------------------------------------


class ServerProcess:
    """A server (``edge-server serve`` or the scripted one) as a child process on 127.0.0.1.

    Its output goes to ``log``; :meth:`kill9` kills it the way a power cut or the OOM killer
    would; :meth:`stop` sends SIGTERM (as systemd) and waits.
    """

    def __init__(
        self,
        command: Sequence[str],
        port: int,
        state_dir: Path,
        log: Path,
        env: dict[str, str] | None = None,
        prefix: Sequence[str] = (),
        base_url: str | None = None,
    ) -> None:
        self.command = [*prefix, *command, "--port", str(port), "--state-dir", str(state_dir)]
        self.port = port
        self.state_dir = state_dir
        self.log = log
        self.env = env if env is not None else child_env()
        self.proc: asyncio.subprocess.Process | None = None
        self.http = base_url or f"http://127.0.0.1:{port}"
        self.ws = self.http.replace("http://", "ws://", 1)
        self.workers: list[int] = []

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self, extra: Sequence[str] = (), timeout: float = 30.0) -> ServerProcess:
        """Start it and wait until ``/healthz`` answers."""
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                *self.command, *extra, stdout=out, stderr=out, env=self.env, cwd=str(ROOT)
            )
        await wait_for_async(self.healthy, timeout, f"the server to listen ({self.log_tail()})")
        return self

    async def healthy(self) -> bool:
        """True when ``/healthz`` answers 200."""
        assert self.proc is not None
        if self.proc.returncode is not None:
            raise AssertionError(f"the server exited ({self.proc.returncode}): {self.log_tail()}")
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as http,
                http.get(f"{self.http}/healthz") as answer,
            ):
                return answer.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def health(self) -> dict[str, Any]:
        """``/healthz`` as JSON."""
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
            http.get(f"{self.http}/healthz") as answer,
        ):
            data: dict[str, Any] = await answer.json()
            return data

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's output."""
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    async def kill9(self) -> None:
        """SIGKILL the server (its workers are left to notice by themselves, as in real life)."""
        assert self.proc is not None
        self.workers = children_of(self.proc.pid)
        self.proc.kill()
        await asyncio.wait_for(self.proc.wait(), 10)

    async def stop(self) -> int | None:
        """SIGTERM and wait (SIGKILL after 15 s); its exit code."""
        if self.proc is None:
            return None
        if self.proc.returncode is None:
            self.workers = children_of(self.proc.pid)
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return self.proc.returncode

    async def reap_workers(self, timeout: float = 10.0) -> list[int]:
        """Wait for the killed server's worker processes to exit; kill (by PID) and return
        those that did not."""
        with contextlib.suppress(AssertionError):
            await wait_until(lambda: not any(pid_alive(p) for p in self.workers), timeout, "")
        left = [p for p in self.workers if pid_alive(p)]
        for pid in left:
            kill_pid(pid)
        return left


# --- a raw WebSocket client, for clients that break the framing itself ---------------------------


class RawWebSocket:
    """A hand-made WebSocket client over a plain TCP stream: it can send half a frame, an
    invalid UTF-8 text frame, or stop reading, which a real client library never would."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, path: str, timeout: float = 10.0) -> RawWebSocket:
        """Open and upgrade (fails unless the server answers 101)."""
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
        key = "dGhlIHNhbXBsZSBub25jZQ=="
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        assert head.startswith(b"HTTP/1.1 101"), head[:200]
        return cls(reader, writer)

    @staticmethod
    def frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
        """One masked client frame."""
        first = (0x80 if fin else 0) | opcode
        size = len(payload)
        if size < 126:
            head = struct.pack("!BB", first, 0x80 | size)
        elif size < 65536:
            head = struct.pack("!BBH", first, 0x80 | 126, size)
        else:
            head = struct.pack("!BBQ", first, 0x80 | 127, size)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return head + mask + masked

    async def send_text(self, text: str | bytes) -> None:
        """A text frame (``bytes`` are sent as they are, valid UTF-8 or not)."""
        payload = text.encode() if isinstance(text, str) else text
        self.writer.write(self.frame(0x1, payload))
        await self.writer.drain()

    async def send_binary(self, data: bytes) -> None:
        """A binary frame."""
        self.writer.write(self.frame(0x2, data))
        await self.writer.drain()

    async def recv(self, timeout: float = 10.0) -> tuple[int, bytes]:
        """The next server frame: ``(opcode, payload)`` (server frames are not masked)."""
        first, second = await asyncio.wait_for(self.reader.readexactly(2), timeout)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
        payload = await asyncio.wait_for(self.reader.readexactly(size), timeout)
        return first & 0x0F, payload

    async def recv_json(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next text frame as JSON, skipping pings."""
        while True:
            opcode, payload = await self.recv(timeout)
            if opcode == 0x1:
                data: dict[str, Any] = json.loads(payload)
                return data
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                raise ConnectionError(f"closed by the server: {code} {payload[2:]!r}")

    async def recv_close(self, timeout: float = 10.0) -> tuple[int | None, str]:
        """Read until the server's close frame; its code and reason."""
        while True:
            try:
                opcode, payload = await self.recv(timeout)
            except asyncio.IncompleteReadError:
                return None, "connection closed without a close frame"
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                return code, payload[2:].decode(errors="replace")

    def abort(self) -> None:
        """Drop the connection."""
        self.writer.transport.abort()


MAIN_INTERPRETER_ONLY = pytest.mark.skipif(
    sys.version_info < (3, 12) and not os.environ.get("FAULTS_ALL_PYTHONS"),
    reason="a real-time fault case (kill, partition, stall, soak) is about processes, sockets "
    "and the kernel, not the interpreter: it runs once per CI, on the main Python; "
    "FAULTS_ALL_PYTHONS=1 runs it here too",
)
"""For the fault cases that take half a minute of wall time each (the CI runs the suite on two
Pythons; these run on the main one)."""

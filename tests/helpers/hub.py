"""Conference hubs for tests: in this test's event loop (:class:`LiveHub`), or as a real
``edge-server hub`` process started and killed by PID (:class:`HubProcess`); and a captions
client that reconnects like the pages do and keeps what it received."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from edge_server.core.settings import ServerSettings
from edge_server.hub.app import create_hub_app
from tests.helpers.paths import ROOT
from tests.helpers.redis_server import free_port


class LiveHub:
    """A hub application on 127.0.0.1, served by the test's own event loop."""

    def __init__(self, settings: ServerSettings, redis_url: str) -> None:
        self.server = TestServer(create_hub_app(settings, redis_url), host="127.0.0.1", port=0)

    async def start(self) -> LiveHub:
        await self.server.start_server()
        return self

    async def stop(self) -> None:
        await self.server.close()

    @property
    def http(self) -> str:
        return str(self.server.make_url("")).rstrip("/")


class HubProcess:
    """``edge-server hub`` as a child process (the Redis address in its environment)."""

    def __init__(self, redis_url: str, env: dict[str, str] | None = None) -> None:
        self.redis_url = redis_url
        self.port = free_port()
        self.extra_env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 30.0) -> HubProcess:
        self.proc = self._spawn()
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError(f"hub exited with {self.proc.returncode}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{self.http}/metrics") as resp:
                        if resp.status == 200:
                            return self
                await asyncio.sleep(0.1)
        raise AssertionError(f"hub on port {self.port} did not answer in {timeout} s")

    def _spawn(self) -> subprocess.Popen[bytes]:
        env = os.environ | {"EDGE_SERVER_HUB_REDIS": self.redis_url, "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "edge_server.cli", "hub"]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        return subprocess.Popen(
            command,
            env=env | self.extra_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        """SIGKILL by PID (a hub that dies); again is harmless."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)


class CaptionsClient:
    """Follows a room's captions on one or more servers in turn, like the pages: on a lost
    connection it reconnects (to the next server of ``servers``) with a backlog and keeps each
    final once, by segment. ``received`` is every final message in arrival order (backlog
    copies of finals it already has are not added)."""

    def __init__(self, servers: list[str], room: str, backlog: int = 0) -> None:
        self.servers = servers
        self.room = room
        self.backlog = backlog
        self.received: list[dict[str, Any]] = []
        self.segments: set[int] = set()
        self.duplicates = 0
        """Live (non-backlog) finals that arrived a second time: must stay 0."""
        self.connections = 0
        self.statuses: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def texts(self) -> list[str]:
        return [m["text"] for m in self.received]

    async def _run(self) -> None:
        index = 0
        backlog = self.backlog
        while True:
            base = self.servers[index % len(self.servers)].replace("http://", "ws://", 1)
            url = f"{base}/ws/captions/{self.room}?backlog={backlog}"
            try:
                async with connect(url, open_timeout=10) as ws:
                    self.connections += 1
                    async for raw in ws:
                        self._handle(json.loads(raw))
            except (OSError, ConnectionClosed, TimeoutError):
                pass
            self.connected.clear()
            index += 1
            backlog = 500  # after a loss: what the pages do, ask for the recent finals again
            await asyncio.sleep(0.5)

    def _handle(self, message: dict[str, Any]) -> None:
        if message.get("type") == "status":
            self.statuses.append(message)
            self.connected.set()  # the status comes once subscribed: nothing can slip by now
        if message.get("type") != "final":
            return
        segment = int(message["segment"])
        if message.get("backlog") and self.segments and segment < max(self.segments):
            return  # older than what it follows: history it never asked for
        if segment in self.segments:
            if not message.get("backlog"):
                self.duplicates += 1
            return
        self.segments.add(segment)
        self.received.append(message)

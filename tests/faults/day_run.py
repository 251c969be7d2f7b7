"""The running conference day of ``tests/faults/test_conference_day.py``: its processes (the
server and the Polly fake in one network namespace, the audio node in another, the audience
beside the server), where the node's audio is, ``/healthz`` from inside the namespace, the
readings of memory and descriptors, and which episode a lost word falls to."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes.aws_env import ACCESS_KEY, SECRET_KEY
from tests.faults.children import JsonChild
from tests.faults.day_plan import DayPlan, Episode
from tests.faults.helpers import PYTHON, child_env, fd_count, rss_kib, wait_until, words_in
from tests.faults.netns import Netns, in_namespace
from tests.helpers.tiny_disk import TinyDisk

PORT = 8080
ROOM = "main"
POLLY = "amazon-polly"
VOICE_GRACE_S = 2.0
"""How long Polly may fail before espeak-ng speaks (wall seconds: 60 s of the day at 30x)."""
BLAME_MARGIN_WORDS = 8
"""A word this close before the newest word on disk when an episode began may still be lost
to it (the sentence under recognition)."""


@dataclass
class Sample:
    """One reading of the processes, at a place in the day."""

    audio_s: float
    server: int
    """Which server process (0, then 1 after the restart)."""
    server_rss: int
    server_fds: int
    node_rss: int
    node_fds: int


@dataclass
class Day:
    """The running day: its processes, where the node's audio is, what happened."""

    plan: DayPlan
    netns: Netns
    tmp: Path
    disk: TinyDisk
    polly: JsonChild
    speed: float
    """The day's audio per second of wall time."""
    servers: list[JsonChild] = field(default_factory=list)
    node: JsonChild | None = None
    audience: JsonChild | None = None
    samples: list[Sample] = field(default_factory=list)
    played: list[str] = field(default_factory=list)
    killed_at_word: list[int] = field(default_factory=list)
    """The newest word the node had captured at each SIGKILL."""
    spans: dict[Episode, tuple[int, int]] = field(default_factory=dict)
    """Each episode played: the words it may have cost, ``(low, high]``: from a little before
    the newest word on disk when it began to the newest word the node had when it was over."""

    @property
    def base(self) -> str:
        return f"{self.netns.server_ip}:{PORT}"

    @property
    def state(self) -> Path:
        return self.disk.mountpoint / "state"

    @property
    def transcript(self) -> Path:
        return self.state / "rooms" / ROOM / "transcript.jsonl"

    def audio_s(self) -> float:
        """Seconds of the day the node has captured so far."""
        assert self.node is not None
        line = self.node.last("audio_s")
        return float(line["audio_s"]) if line else 0.0

    async def start_server(self) -> JsonChild:
        number = len(self.servers)
        server = JsonChild(f"server-{number}", self.tmp / f"server-{number}.log")
        command = [PYTHON, "-m", "tests.faults.serve_scripted", "--host", self.netns.server_ip,
                   "--port", str(PORT), "--state-dir", str(self.state),
                   "--prefix-translator"]  # fmt: skip
        await server.start(
            in_namespace(self.netns, self.netns.server, command), env=self.server_env()
        )
        self.servers.append(server)
        await server.wait_line(lambda m: m == {"_text": "LISTENING"}, 60, "listening")
        return server

    def server_env(self) -> dict[str, str]:
        """The room: translated into the speakers' language by the prefix translator, spoken
        by Polly (the fake) with espeak-ng behind it; no AWS setting of this machine."""
        polly = self.polly.last("url")
        assert polly is not None
        env = {k: v for k, v in child_env().items() if not k.startswith("AWS_")}
        env.update(
            EDGE_SERVER_CONNECT_BURST="100000",
            EDGE_SERVER_CONNECT_RATE="100000",
            EDGE_SERVER_MIN_FREE_MB="0",
            EDGE_SERVER_TARGETS=self.plan.audience.speech_lang,
            EDGE_SERVER_TRANSLATOR="amazon-translate",
            EDGE_SERVER_SYNTHESIZER="polly",
            EDGE_SERVER_VOICE_FALLBACK_GRACE_S=str(VOICE_GRACE_S),
            AWS_ACCESS_KEY_ID=ACCESS_KEY,
            AWS_SECRET_ACCESS_KEY=SECRET_KEY,
            AWS_REGION="eu-west-1",
            AWS_CONFIG_FILE=str(self.tmp / "no-aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(self.tmp / "no-aws-credentials"),
            AWS_EC2_METADATA_DISABLED="true",
            AWS_ENDPOINT_URL_POLLY=str(polly["url"]),
        )
        return env

    async def room_health(self) -> dict[str, Any]:
        """The room's part of ``/healthz``."""
        room: dict[str, Any] = (await self.health())["rooms"][ROOM]
        return room

    async def until_health(
        self, test: Callable[[dict[str, Any]], bool], timeout: float, what: str
    ) -> tuple[dict[str, Any], float]:
        """Poll the room's health until ``test`` passes; that health and the wait."""
        started = time.monotonic()
        while True:
            room = await self.room_health()
            if test(room):
                return room, time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise AssertionError(f"timed out after {timeout:g} s waiting for {what}: {room}")
            await asyncio.sleep(0.5)

    async def health(self) -> dict[str, Any]:
        """``/healthz``, fetched from inside the server's namespace."""
        url = f"http://{self.base}/healthz"
        command = [PYTHON, "-m", "tests.faults.subscribe", url, "--health"]
        proc = await asyncio.create_subprocess_exec(
            *in_namespace(self.netns, self.netns.server, command),
            stdout=asyncio.subprocess.PIPE,
            env=child_env(),
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
        data: dict[str, Any] = json.loads(out)
        return data

    async def sample(self) -> None:
        """Read memory and descriptors every half second, while both processes run."""
        assert self.node is not None
        while True:
            server = self.servers[-1]
            with contextlib.suppress(OSError, AssertionError):
                self.samples.append(
                    Sample(
                        self.audio_s(),
                        len(self.servers) - 1,
                        rss_kib(server.pid),
                        fd_count(server.pid),
                        rss_kib(self.node.pid),
                        fd_count(self.node.pid),
                    )
                )
            await asyncio.sleep(0.5)

    def last_final_on_disk(self) -> list[int]:
        """The words of the newest final in the transcript ([] if none); a line being written
        is left out."""
        try:
            data = self.transcript.read_bytes()
        except FileNotFoundError:
            return []
        for line in reversed(data.split(b"\n")[:-1]):
            found = words_in([json.loads(line)])
            if found:
                return found
        return []

    def last_word_on_disk(self) -> int:
        """The newest word in the transcript (0 if none)."""
        return (self.last_final_on_disk() or [0])[-1]

    def node_word(self) -> int:
        """The newest word the node has captured."""
        assert self.node is not None
        line = self.node.last("audio_s")
        return int(line["word"]) if line else 0

    def blame(self, words: list[int]) -> tuple[dict[Episode, list[int]], list[int]]:
        """Each of ``words`` (lost ones) put to the episode it fell in: after the transcript's
        newest word when the episode began (less ``BLAME_MARGIN_WORDS``), up to the node's
        newest word when it was over; of two, the one that began later. The rest are
        unexplained."""
        blamed: dict[Episode, list[int]] = {e: [] for e in self.spans}
        unexplained = []
        for word in words:
            fits = [e for e, (low, high) in self.spans.items() if low < word <= high]
            if fits:
                blamed[max(fits, key=lambda e: self.spans[e][0])].append(word)
            else:
                unexplained.append(word)
        return blamed, unexplained

    async def until(self, audio_s: float, what: str) -> None:
        """Wait until the node has captured the day up to ``audio_s``."""
        assert self.node is not None
        node = self.node
        budget = 120 + 3 * max(0.0, audio_s - self.audio_s()) / self.speed

        def reached() -> bool:
            if not node.running:
                raise AssertionError(f"the node exited: {node.log_text()}")
            return self.audio_s() >= audio_s

        await wait_until(reached, budget, f"the day at {audio_s:.0f} s ({what})", step=0.1)

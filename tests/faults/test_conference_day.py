"""A conference day in one room, compressed in time, with the faults such a day brings.

The day is data (:func:`tests.faults.day_plan.conference_day`): seven talks between 09:00 and
17:00 with their breaks, and the episodes at given places in given talks. Everything that
runs is real and a separate process: the server (the real application with the scripted
recognizer) in one network namespace, the real audio node (:mod:`tests.faults.node_day`:
:class:`~edge_audio.node.AudioNode` speaking the day at ``SOAK_DAY_SPEED`` times real time) in
another, joined by a veth pair, and the audience (:mod:`tests.faults.day_listeners`: subscribers
that stay all day and subscribers that come and go every few seconds) beside the server. The
state folder is a tmpfs of its own. The episodes, played when the node's audio reaches them:

- **partition** (90 s in talk 2, 5 min in talk 6): the node's end of the link goes down;
- **disk full** (4 min in talk 3): the state folder's file system is filled, then freed;
- **Polly outage** (5 min in talk 4): the Polly fake answers 503, then answers again;
- **server restart** (talk 5): the server is killed with SIGKILL mid-sentence and started again
  on the same port and state folder, as systemd's ``Restart=always`` would;
- **listener churn** all day.

An episode whose feature is not in this tree yet is listed as pending (and reported by
``test_every_episode_is_played``), not silently left out.

Asserted: every word the node captured is in the transcript exactly once and in order (the
only exception: words the server had not finalized when it was SIGKILLed, see
``RESTART_MAY_LOSE``); every subscriber that stayed has every final of the transcript, in
order, none twice; the node never dropped audio from its buffer; the server's resident memory
grows by less than ``RSS_BOUND_MIB`` after the warm-up (each server process measured on its
own), the node's by less than ``NODE_RSS_BOUND_MIB``; descriptors stay within the connections
open. Printed: words, finals, episodes, memory, descriptors and wall time.

Length: ``SOAK_DAY_HOURS`` (default 1: the same day, every talk and break an eighth as long,
the episodes as long as in the full day, about 3 minutes at the default speed);
``SOAK_DAY_HOURS=8 SOAK_DAY_SPEED=30`` is the full day, about 17 minutes. Needs root (network
namespaces, a tmpfs); skipped otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import subprocess
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.faults.children import JsonChild
from tests.faults.day_plan import DayPlan, Episode, Kind, conference_day
from tests.faults.helpers import (
    MAIN_INTERPRETER_ONLY,
    PYTHON,
    child_env,
    fd_count,
    kill_pid,
    read_transcript,
    rss_kib,
    wait_until,
    words_in,
)
from tests.faults.netns import Netns, in_namespace, netns_unavailable

DAY_HOURS = float(os.environ.get("SOAK_DAY_HOURS", "0") or 0) or 1.0
SPEED = float(os.environ.get("SOAK_DAY_SPEED", "30") or 30)
PLAN = conference_day(DAY_HOURS * 3600.0)
PORT = 8080
ROOM = "main"
STATE_DISK_MIB = 64
"""The state folder's tmpfs: a full day's transcript is about 2 MiB."""
RSS_BOUND_MIB = 25.0
"""Growth of a server process's resident memory after its warm-up (the 2-room soak holds 15
MiB; this day adds finals held in memory while the disk is full, and a restart's backlog)."""
NODE_RSS_BOUND_MIB = 40.0
"""Growth of the node's resident memory: its outage buffer alone may hold 600 s (19 MiB)."""
AROUND_S = 5.0
"""Words captured this long (wall) before an episode began or after it ended count as its."""
WARM_UP = 0.1
"""The first tenth of the day (or of a restarted server's part of it) warms up."""
RESTART_MAY_LOSE = 12
"""Words a SIGKILL may cost: the sentence the recognizer had not finalized and the audio in
socket buffers. The server keeps no stream positions across a restart (they are not on disk),
so the node cannot know what to send again; ``docs/protocol.md``, "Positions and resending"."""

pytestmark = [
    pytest.mark.faults,
    pytest.mark.soak,
    MAIN_INTERPRETER_ONLY,
    pytest.mark.timeout(int(240 + 1.6 * PLAN.length_s / SPEED)),
]


def pending_features() -> dict[Kind, str]:
    """Episodes whose feature this tree lacks, and why."""
    pending: dict[Kind, str] = {}
    if not _module_exists("edge_server.core.unsaved_finals"):
        pending[Kind.DISK_FULL] = (
            "needs finals held in memory while the transcript cannot be written (issue 14, "
            "part 2: branch 'storage')"
        )
    if not _module_exists("tests.fakes.polly_fake"):
        pending[Kind.POLLY_OUTAGE] = (
            "needs the Polly -> espeak-ng voice fallback and its switchable Polly fake (issue "
            "14, part 5: branch 'voice')"
        )
    return pending


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


PENDING = pending_features()


# --- the machinery ------------------------------------------------------------------------------


@pytest.fixture
def netns() -> Iterator[Netns]:
    reason = netns_unavailable()
    if reason is not None:
        pytest.skip(f"the day partitions a real link: {reason}")
    spaces = Netns().open()
    try:
        yield spaces
    finally:
        for pid in spaces.pids_inside():  # only processes of this test can be in there
            kill_pid(pid)
        spaces.close()


@pytest.fixture
def state_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of its own for the state folder (unmounted after the test, whatever happened)."""
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={STATE_DISK_MIB}m,mode=0755", "tmpfs",
         str(mountpoint)],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield mountpoint
    finally:
        if subprocess.run(["umount", str(mountpoint)], capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)


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
    state: Path
    servers: list[JsonChild] = field(default_factory=list)
    node: JsonChild | None = None
    audience: JsonChild | None = None
    samples: list[Sample] = field(default_factory=list)
    played: list[str] = field(default_factory=list)
    spans: dict[Episode, tuple[float, float]] = field(default_factory=dict)
    """Each episode played: the wall time it began and the wall time it was over."""

    @property
    def base(self) -> str:
        return f"{self.netns.server_ip}:{PORT}"

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
                   "--port", str(PORT), "--state-dir", str(self.state)]  # fmt: skip
        await server.start(in_namespace(self.netns, self.netns.server, command))
        self.servers.append(server)
        await server.wait_line(lambda m: m == {"_text": "LISTENING"}, 60, "listening")
        return server

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

    def words_around(self, episode: Episode, words: list[int]) -> list[int]:
        """Those of ``words`` the node captured within a few seconds (wall) of ``episode``."""
        assert self.node is not None
        began, ended = self.spans[episode]
        reports = [m for m in self.node.lines if "audio_s" in m]
        before = [m["word"] for m in reports if m["at"] <= began - AROUND_S]
        after = [m["word"] for m in reports if m["at"] >= ended + AROUND_S]
        low, high = (before[-1] if before else 0), (after[0] if after else self.plan.words)
        return [w for w in words if low < w <= high]

    async def until(self, audio_s: float, what: str) -> None:
        """Wait until the node has captured the day up to ``audio_s``."""
        assert self.node is not None
        node = self.node
        budget = 120 + 3 * max(0.0, audio_s - self.audio_s()) / SPEED

        def reached() -> bool:
            if not node.running:
                raise AssertionError(f"the node exited: {node.log_text()}")
            return self.audio_s() >= audio_s

        await wait_until(reached, budget, f"the day at {audio_s:.0f} s ({what})", step=0.1)


# --- the episodes -------------------------------------------------------------------------------


async def partition(day: Day, episode: Episode) -> str:
    day.netns.partition()
    cut = time.time()
    try:
        await day.until(episode.end_s, "the partition's end")
    finally:
        day.netns.heal()
    return f"link down {time.time() - cut:.1f} s wall"


async def server_restart(day: Day, episode: Episode) -> str:
    killed_at = time.time()
    await day.servers[-1].kill9()
    await asyncio.sleep(1.0)  # systemd's RestartSec
    await day.start_server()
    return f"back listening after {time.time() - killed_at:.1f} s wall"


Runner = Callable[[Day, Episode], Awaitable[str]]
RUNNERS: dict[Kind, Runner] = {
    Kind.PARTITION: partition,
    Kind.SERVER_RESTART: server_restart,
}


# --- the day ------------------------------------------------------------------------------------


def test_every_episode_is_played() -> None:
    """The plan's episodes all have a runner in this tree (a skip names what is missing)."""
    kinds = {e.kind for e in PLAN.episodes}
    missing = {k: PENDING.get(k, "no runner") for k in kinds if k not in RUNNERS}
    if missing:
        pytest.skip(
            "pending episodes of the conference day: "
            + "; ".join(f"{k.value}: {why}" for k, why in sorted(missing.items()))
        )


async def test_conference_day(
    netns: Netns, state_disk: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    began = time.monotonic()
    day = Day(PLAN, netns, tmp_path, state_disk / "state")
    audience = JsonChild("audience", tmp_path / "audience.log")
    node = JsonChild("node", tmp_path / "node.log")
    sampler: asyncio.Task[None] | None = None
    figures: dict[str, Any] = {}
    try:
        await day.start_server()
        fds_idle = fd_count(day.servers[0].pid)
        await audience.start(
            in_namespace(netns, netns.server, [
                PYTHON, "-m", "tests.faults.day_listeners",
                f"ws://{day.base}/ws/captions/{ROOM}",
                "--stayers", str(PLAN.audience.stayers),
                "--churners", str(PLAN.audience.churners),
            ])
        )  # fmt: skip
        day.audience = audience
        await audience.wait_line(lambda m: "started" in m, 60, "the audience")
        await asyncio.sleep(2.0)  # everyone connected before the day starts
        await node.start(
            in_namespace(netns, netns.node, [
                PYTHON, "-m", "tests.faults.node_day", "--server", f"http://{day.base}",
                "--room", ROOM, "--day-s", str(PLAN.length_s), "--speed", str(SPEED),
            ])
        )  # fmt: skip
        day.node = node
        await node.wait_line(lambda m: "audio_s" in m, 60, "the node's first audio")
        sampler = asyncio.create_task(day.sample())
        for episode in PLAN.episodes:
            runner = RUNNERS.get(episode.kind)
            if runner is None:
                day.played.append(f"{episode.kind.value}: PENDING ({PENDING.get(episode.kind)})")
                continue
            await day.until(episode.at_s, f"the {episode.kind.value} in {episode.where}")
            began_at = time.time()
            outcome = await runner(day, episode)
            day.spans[episode] = (began_at, time.time())
            day.played.append(f"{episode.kind.value} ({episode.where}): {outcome}")
        over = await node.wait_line(
            lambda m: bool(m.get("day_over")), 120 + 2 * PLAN.length_s / SPEED, "the day's end"
        )
        figures["day_wall_s"] = over["at"] - node.lines[0]["at"]
        last_word = int(over["words"])
        await wait_until(
            lambda: (
                bool(words_in(read_transcript(day.transcript)[-3:]))
                and words_in(read_transcript(day.transcript)[-3:])[-1] >= last_word
            ),
            120,
            "the day's last word in the transcript",
            step=0.5,
        )
        await asyncio.sleep(2.0)  # the audience gets the last finals
        sampler.cancel()
        code = await node.stop(30)
        assert code == 0, node.log_text()
        await audience.stop(30)
        figures["fds_end"] = fd_count(day.servers[-1].pid)
    finally:
        if sampler is not None:
            sampler.cancel()
        await node.stop()
        await audience.stop()
        for server in day.servers:
            await server.stop()
    wall_s = time.monotonic() - began

    # What the day left: the transcript, the audience's summary, the node's last words.
    stored = read_transcript(day.transcript)
    words = words_in(stored)
    counts = Counter(words)
    repeated = sorted(w for w, n in counts.items() if n > 1)
    missing = sorted(set(range(1, last_word + 1)) - set(words))
    lost = {f"{e.kind.value} ({e.where})": day.words_around(e, missing) for e in day.spans}
    unexplained = sorted(set(missing) - {w for ws in lost.values() for w in ws})
    segments = [int(r["segment"]) for r in stored]
    summary = audience.last("stayers")
    assert summary is not None, audience.log_text()
    churn = summary["churners"]
    stopped = node.last("stopped")
    assert stopped is not None, node.log_text()
    server_growth = []
    for number in range(len(day.servers)):
        mine = [s for s in day.samples if s.server == number]
        assert mine, f"no readings of server {number}"
        warm = mine[int(len(mine) * WARM_UP) :]
        server_growth.append((max(s.server_rss for s in warm) - warm[0].server_rss) / 1024)
    node_warm = day.samples[int(len(day.samples) * WARM_UP) :]
    node_growth = (max(s.node_rss for s in node_warm) - node_warm[0].node_rss) / 1024
    fds_peak = max(s.server_fds for s in day.samples)
    node_fds = [s.node_fds for s in day.samples]
    with capsys.disabled():
        print(
            f"\nconference day: {PLAN.length_s / 3600:.2f} h of audio ({len(PLAN.talks)} talks) "
            f"at {SPEED:g}x in {figures['day_wall_s']:.0f} s ({wall_s:.0f} s with set-up and "
            f"checks); {last_word} words captured, {len(counts)} in the transcript "
            f"({len(repeated)} more than once), {len(missing)} missing; {len(stored)} finals; "
            f"audience {PLAN.audience.stayers} stayers, {PLAN.audience.churners} churners "
            f"({churn['visits']} visits)\n  episodes:\n    "
            + "\n    ".join(day.played)
            + "\n  words lost: "
            + ", ".join(f"{k}: {len(v)}" for k, v in lost.items())
            + f"; elsewhere: {unexplained[:20]}"
            f"\n  server RSS start {day.samples[0].server_rss / 1024:.1f} MiB, peak "
            f"{max(s.server_rss for s in day.samples) / 1024:.1f}, end "
            f"{day.samples[-1].server_rss / 1024:.1f} (growth after warm-up per process "
            f"{', '.join(f'{g:.1f}' for g in server_growth)} MiB, bound {RSS_BOUND_MIB:g}); "
            f"node RSS start {day.samples[0].node_rss / 1024:.1f}, peak "
            f"{max(s.node_rss for s in day.samples) / 1024:.1f}, end "
            f"{day.samples[-1].node_rss / 1024:.1f} MiB (growth {node_growth:.1f}, bound "
            f"{NODE_RSS_BOUND_MIB:g})\n  server fds {fds_idle} idle, peak {fds_peak}, "
            f"{figures['fds_end']} after the audience left; node fds {min(node_fds)}-"
            f"{max(node_fds)}; node link {stopped['link']}"
        )

    # Every word the node captured is in the transcript exactly once, in order.
    assert last_word == PLAN.words
    assert repeated == [], f"words in the transcript more than once: {repeated[:20]}"
    assert words == sorted(words), "the transcript's words are out of order"
    for name, gone in lost.items():
        allowed = RESTART_MAY_LOSE if name.startswith(Kind.SERVER_RESTART.value) else 0
        assert len(gone) <= allowed, f"{len(gone)} words lost at the {name}: {gone[:40]}"
    assert unexplained == [], f"words lost away from any episode: {unexplained[:40]}"

    # Every subscriber that stayed has every final of the transcript, in order, none twice.
    for stayer in summary["stayers"]:
        got = [s for first, last in stayer["runs"] for s in range(first, last + 1)]
        assert got == segments, (stayer["count"], len(segments), stayer["runs"][:10])
        assert stayer["repeats"] == 0, stayer
    assert churn["visits"] > PLAN.audience.churners

    # The node kept everything it captured; memory and descriptors stayed bounded.
    assert stopped["buffer_dropped_bytes"] == 0, stopped
    assert all(g < RSS_BOUND_MIB for g in server_growth), server_growth
    assert node_growth < NODE_RSS_BOUND_MIB
    audience_size = PLAN.audience.stayers + PLAN.audience.churners
    assert fds_peak <= fds_idle + audience_size + 20
    assert max(node_fds) <= min(node_fds) + 10
    assert figures["fds_end"] <= fds_idle + 5

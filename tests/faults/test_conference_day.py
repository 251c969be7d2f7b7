"""A conference day in one room, compressed in time, with the faults such a day brings.

The day is data (:func:`tests.faults.day_plan.conference_day`): seven talks between 09:00 and
17:00 with their breaks, and the episodes at given places in given talks. Everything that
runs is real and a separate process: the server (the real application with the scripted
recognizer) in one network namespace, the real audio node (:mod:`tests.faults.node_day`:
:class:`~edge_audio.node.AudioNode` speaking the day at ``SOAK_DAY_SPEED`` times real time) in
another, joined by a veth pair, and the audience (:mod:`tests.faults.day_listeners`: subscribers
that stay all day and subscribers that come and go every few seconds) beside the server. The
state folder is a tmpfs of its own (the running day: :mod:`tests.faults.day_run`). The
episodes (:mod:`tests.faults.day_episodes`), played when the node's audio reaches them:

- **partition** (90 s in talk 2, 5 min in talk 6): the node's end of the link goes down;
- **disk full** (4 min in talk 3): the state folder's file system is filled, then freed;
- **Polly outage** (5 min in talk 4): the Polly fake answers 503, then answers again;
- **server restart** (talk 5): the server is killed with SIGKILL mid-sentence and started again
  on the same port and state folder, as systemd's ``Restart=always`` would;
- **listener churn** all day.

Asserted: every word the node captured is in the transcript exactly once and in order (the
only words a SIGKILL may cost are those said longer ago than the node's resend history,
``RESEND_S``, reaches back: a server that far behind the node is beyond what resending can
save, and the test says so; none is there twice, not even of a final the server wrote but died
before telling the node: the node resends its audio and the new server, which rebuilt its stream
positions from the transcript, drops it); every subscriber that stayed has every final of the
transcript, in order, none twice; each phone with sound on heard Polly, then espeak-ng, then
Polly again, no sentence twice, none failed; ``/healthz`` said what the disk and Polly did; the
node never dropped audio from its buffer; each server process's resident memory grows by less
than ``RSS_BOUND_MIB`` after its warm-up, the node's by less than ``NODE_RSS_BOUND_MIB``;
descriptors stay within the connections open and return after they close. Printed: words,
finals, what each episode did and cost, memory, descriptors and wall time (the readings are
also written to ``day.json`` in the test's folder).

Length: ``SOAK_DAY_HOURS`` (default 1, what CI runs: the same day, every talk and break an
eighth as long, the episodes as long as in the full day; about 2 min 15 s at the default
speed); ``SOAK_DAY_HOURS=8`` is the full day, about 16 minutes at the default speed
(``SOAK_DAY_SPEED``, 30)::

    SOAK_DAY_HOURS=8 .venv/bin/python -m pytest tests/faults/test_conference_day.py

Needs root (network namespaces, a tmpfs); skipped otherwise.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.children import JsonChild
from tests.faults.day_episodes import RUNNERS
from tests.faults.day_plan import (
    SENTENCE_S,
    WORDS_PER_SENTENCE,
    Kind,
    conference_day,
)
from tests.faults.day_run import BLAME_MARGIN_WORDS, POLLY, ROOM, Day
from tests.faults.helpers import (
    MAIN_INTERPRETER_ONLY,
    PYTHON,
    fd_count,
    kill_pid,
    read_transcript,
    wait_until,
    words_in,
)
from tests.faults.netns import Netns, in_namespace, netns_unavailable
from tests.helpers.tiny_disk import TinyDisk

DAY_HOURS = float(os.environ.get("SOAK_DAY_HOURS", "0") or 0) or 1.0
SPEED = float(os.environ.get("SOAK_DAY_SPEED", "30") or 30)
PLAN = conference_day(DAY_HOURS * 3600.0)
STATE_DISK_MIB = 64
"""The state folder's tmpfs: a full day's transcript is about 2 MiB."""
RSS_BOUND_MIB = 25.0
"""Growth of a server process's resident memory after its warm-up (the 2-room soak holds 15
MiB; this day adds finals held in memory while the disk is full, and a restart's backlog)."""
NODE_RSS_BOUND_MIB = 40.0
"""Growth of the node's resident memory: its outage buffer alone may hold 600 s (19 MiB)."""
WARM_UP = 0.1
"""A process warms up for a tenth of the day from its first reading (a restarted server also
serves the redialing audience its backlog then)."""
RESEND_S = 60.0
"""The node's resend history (``EDGE_AUDIO_RESEND_SECONDS``, at most 60; default 10): after a
restart it sends again what followed the last final it was told of. At 30x the server runs a
second or two behind the node, which is up to a minute of the day's audio."""
RESEND_WORDS = int(RESEND_S / SENTENCE_S * WORDS_PER_SENTENCE)

pytestmark = [
    pytest.mark.faults,
    pytest.mark.soak,
    MAIN_INTERPRETER_ONLY,
    pytest.mark.timeout(int(240 + 1.6 * PLAN.length_s / SPEED)),
]


# --- fixtures ------------------------------------------------------------------------------


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
def state_disk(tmp_path: Path) -> Iterator[TinyDisk]:
    """A tmpfs of its own for the state folder (unmounted after the test, whatever happened)."""
    disk = TinyDisk(tmp_path / "disk", size_kib=STATE_DISK_MIB * 1024).mount()
    try:
        yield disk
    finally:
        disk.unmount()


# --- the day ------------------------------------------------------------------------------------


def test_every_kind_of_episode_has_a_runner() -> None:
    assert set(RUNNERS) == set(Kind)
    assert {e.kind for e in PLAN.episodes} == set(Kind)


async def test_conference_day(
    netns: Netns, state_disk: TinyDisk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    began = time.monotonic()
    polly = JsonChild("polly", tmp_path / "polly.log")
    day = Day(PLAN, netns, tmp_path, state_disk, polly, SPEED)
    audience = JsonChild("audience", tmp_path / "audience.log")
    node = JsonChild("node", tmp_path / "node.log")
    sampler: asyncio.Task[None] | None = None
    figures: dict[str, Any] = {}
    try:
        await polly.start(
            in_namespace(netns, netns.server, [PYTHON, "-m", "tests.faults.polly_day"])
        )
        await polly.wait_line(lambda m: "url" in m, 60, "the Polly fake")
        await day.start_server()
        fds_idle = fd_count(day.servers[0].pid)
        await audience.start(
            in_namespace(netns, netns.server, [
                PYTHON, "-m", "tests.faults.day_listeners",
                f"ws://{day.base}/ws/captions/{ROOM}",
                "--stayers", str(PLAN.audience.stayers),
                "--churners", str(PLAN.audience.churners),
                "--speakers", str(PLAN.audience.speakers),
                "--speech-lang", PLAN.audience.speech_lang,
            ])
        )  # fmt: skip
        day.audience = audience
        await audience.wait_line(lambda m: "started" in m, 60, "the audience")
        await asyncio.sleep(2.0)  # everyone connected before the day starts
        await node.start(
            in_namespace(netns, netns.node, [
                PYTHON, "-m", "tests.faults.node_day", "--server", f"http://{day.base}",
                "--room", ROOM, "--day-s", str(PLAN.length_s), "--speed", str(SPEED),
                "--resend-seconds", str(RESEND_S),
            ])
        )  # fmt: skip
        day.node = node
        await node.wait_line(lambda m: "audio_s" in m, 60, "the node's first audio")
        sampler = asyncio.create_task(day.sample())
        for episode in PLAN.episodes:
            runner = RUNNERS[episode.kind]
            await day.until(episode.at_s, f"the {episode.kind.value} in {episode.where}")
            low = max(0, day.last_word_on_disk() - BLAME_MARGIN_WORDS)
            outcome = await runner(day, episode)
            day.spans[episode] = (low, day.node_word())
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
        await polly.stop()
    wall_s = time.monotonic() - began

    # What the day left: the transcript, the audience's summary, the node's last words.
    stored = read_transcript(day.transcript)
    words = words_in(stored)
    counts = Counter(words)
    repeated = sorted(w for w, n in counts.items() if n > 1)
    missing = sorted(set(range(1, last_word + 1)) - set(words))
    blamed, unexplained = day.blame(missing)
    lost = {f"{e.kind.value} ({e.where})": words for e, words in blamed.items()}
    segments = [int(r["segment"]) for r in stored]
    summary = audience.last("stayers")
    assert summary is not None, audience.log_text()
    churn = summary["churners"]
    speakers = summary["speakers"]
    polly_calls = polly.last("spoken")
    assert polly_calls is not None, polly.log_text()
    voices = [(run[0], run[3]) for run in speakers[0]["runs"]] if speakers else []
    stopped = node.last("stopped")
    assert stopped is not None, node.log_text()
    server_growth = []
    for number in range(len(day.servers)):
        mine = [s for s in day.samples if s.server == number]
        assert mine, f"no readings of server {number}"
        warm = [s for s in mine if s.audio_s >= mine[0].audio_s + WARM_UP * PLAN.length_s]
        assert warm, f"server {number} did not live past its warm-up"
        server_growth.append((max(s.server_rss for s in warm) - warm[0].server_rss) / 1024)
    node_warm = [s for s in day.samples if s.audio_s >= WARM_UP * PLAN.length_s]
    node_growth = (max(s.node_rss for s in node_warm) - node_warm[0].node_rss) / 1024
    fds_peak = max(s.server_fds for s in day.samples)
    node_fds = [s.node_fds for s in day.samples]
    (tmp_path / "day.json").write_text(
        json.dumps({"samples": [vars(x) for x in day.samples], "lost": lost, "missing": missing})
    )  # the readings, for a closer look
    with capsys.disabled():
        print(
            f"\nconference day: {PLAN.length_s / 3600:.2f} h of audio ({len(PLAN.talks)} talks) "
            f"at {SPEED:g}x in {figures['day_wall_s']:.0f} s ({wall_s:.0f} s with set-up and "
            f"checks); {last_word} words captured, {len(counts)} in the transcript "
            f"({len(repeated)} more than once: {repeated[:8]}), {len(missing)} missing; "
            f"{len(stored)} finals; "
            f"audience {PLAN.audience.stayers} stayers, {PLAN.audience.churners} churners "
            f"({churn['visits']} visits), {PLAN.audience.speakers} phones with sound on (the "
            f"first heard, by voice in turn: {voices}; Polly fake: {polly_calls})"
            "\n  episodes:\n    "
            + "\n    ".join(day.played)
            + "\n  words lost: "
            + ", ".join(f"{k}: {len(v)} {v[:6]}" for k, v in lost.items())
            + f" (the node had captured word {day.killed_at_word} at the SIGKILL, and keeps "
            f"{RESEND_WORDS} words to resend)" + f"; elsewhere: {unexplained[:20]}"
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
    # None twice, even across the SIGKILL: a final written just before it but never sent to the
    # node is resent by the node, and the new server drops it by the stream position stored
    # with that final.
    assert repeated == [], f"words twice: {repeated[:20]}"
    assert words == sorted(words), "the transcript's words are out of order"
    for name, gone in lost.items():
        if name.startswith(Kind.SERVER_RESTART.value):
            gone = [w for w in gone if w > max(day.killed_at_word) - RESEND_WORDS]
        assert gone == [], f"{len(gone)} words lost at the {name}: {gone[:40]}"
    assert unexplained == [], f"words lost away from any episode: {unexplained[:40]}"

    # Every subscriber that stayed has every final of the transcript, in order, none twice.
    for stayer in summary["stayers"]:
        got = [s for first, last in stayer["runs"] for s in range(first, last + 1)]
        assert got == segments, (stayer["count"], len(segments), stayer["runs"][:10])
        assert stayer["repeats"] == 0, stayer
    assert churn["visits"] > PLAN.audience.churners

    # Phones with sound on heard Polly, espeak-ng through the outage, Polly again; no sentence
    # twice, none failed (espeak-ng speaks the language). At 30x speech cannot keep up with
    # the captions: sentences are skipped (bounded queue), which is why nothing counts them.
    for phone in speakers:
        assert [run[0] for run in phone["runs"]] == [POLLY, "espeak", POLLY], phone
        assert phone["repeats"] == 0, phone
        assert all(run[4] == 0 and run[5] > 0 for run in phone["runs"]), phone
    assert polly_calls["refused"] > 0

    # The node came back by itself after the long partition and the restart, resent what was
    # in flight, and kept everything it captured; memory and descriptors stayed bounded.
    assert stopped["link"]["connects"] >= 3, stopped
    assert stopped["link"]["resent_s"], stopped
    assert stopped["buffer_dropped_bytes"] == 0, stopped
    assert all(g < RSS_BOUND_MIB for g in server_growth), server_growth
    assert node_growth < NODE_RSS_BOUND_MIB
    audience_size = PLAN.audience.stayers + PLAN.audience.churners
    assert fds_peak <= fds_idle + audience_size + 20
    assert max(node_fds) <= min(node_fds) + 10
    assert figures["fds_end"] <= fds_idle + 5

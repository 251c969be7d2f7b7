"""The network between the audio node and the server partitioned for 30 s or 5 min, then healed.

The server (the real application with the scripted recognizer) runs in one network namespace,
the audio node (the real :class:`~edge_audio.node.AudioNode`, scripted words in place of a
sound card) in another, joined by a veth pair; a caption subscriber runs beside the server.
The partition takes the node's end of the link down: no packet passes, no connection is reset.

Asserted: every final the subscriber saw is in the transcript, which parses; no word was
finalized twice; **no word is missing**: the audio in flight on the dead connection at the cut
is sent again after the heal (the node's resend history) and the server recognizes only what it
did not have (stream positions); the node reconnected without a restart and reported the gap,
and the server recorded it; captions resume. Measured: heal to the node streaming again, heal
to the first new final, how often the node met ``source_busy`` (the server keeps a dead
session until its WebSocket heartbeat, 20 s + 10 s, notices), how much the node resent, and
the words lost (0). The 5 min cut needs a node buffer longer than the cut (400 s here; the
default is 60 s) and takes about 5 min 10 s: it is one of the long runs, left out of the default
run (``make test``, CI: the 30 s cut, about 40 s, asserts the same) and run with
``PARTITION_5MIN=1`` or ``make test-long`` (with the 2-hour soak and the 8-hour day)::

    PARTITION_5MIN=1 .venv/bin/python -m pytest tests/faults/test_partition.py

Both need root (network namespaces); skipped, saying why, otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.helpers import (
    MAIN_INTERPRETER_ONLY,
    PYTHON,
    child_env,
    kill_pid,
    read_transcript,
    wait_until,
    words_in,
)
from tests.faults.netns import Netns, in_namespace, netns_unavailable
from tests.faults.node_scripted import word_of_slot

pytestmark = [pytest.mark.faults, pytest.mark.timeout(200), MAIN_INTERPRETER_ONLY]
PORT = 8080
LONG_CUT = os.environ.get("PARTITION_5MIN") == "1"
"""``PARTITION_5MIN=1`` (``make test-long``): run the 5 min cut too (a long run, not in CI)."""
CUTS = [
    pytest.param(30.0, 60.0, id="30s"),
    pytest.param(
        300.0,
        400.0,
        id="5min",
        marks=[
            pytest.mark.timeout(560),
            pytest.mark.skipif(
                not LONG_CUT,
                reason="the 5 min cut is a long run: PARTITION_5MIN=1 or make test-long",
            ),
        ],
    ),
]
"""``(partition_s, node buffer_seconds)``: the buffer holds the whole outage."""


@pytest.fixture
def netns() -> Iterator[Netns]:
    reason = netns_unavailable()
    if reason is not None:
        pytest.skip(f"cannot partition a real link: {reason}")
    spaces = Netns().open()
    try:
        yield spaces
    finally:
        for pid in spaces.pids_inside():  # only processes of this test can be in there
            kill_pid(pid)
        spaces.close()


class Child:
    """A process started in a namespace; stdout read as JSON lines, stderr to a log file."""

    def __init__(self, name: str, log: Path) -> None:
        self.name = name
        self.log = log
        self.lines: list[dict[str, Any]] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self, command: list[str]) -> Child:
        with self.log.open("ab") as err:
            self.proc = await asyncio.create_subprocess_exec(
                *command, stdout=asyncio.subprocess.PIPE, stderr=err, env=child_env()
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

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def stop(self, wait: float = 15.0) -> int | None:
        """SIGTERM (by PID) and wait; SIGKILL if it does not stop."""
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


def _repeated_s(server_log: str) -> float:
    """Seconds of audio the server logged as received again and dropped, over all sessions."""
    return sum(float(x) for x in re.findall(r"([\d.]+) s more received again", server_log))


async def health(netns: Netns, tmp: Path) -> dict[str, Any]:
    """``/healthz`` of the server, fetched from inside its namespace."""
    url = f"http://{netns.server_ip}:{PORT}/healthz"
    proc = await asyncio.create_subprocess_exec(
        *in_namespace(
            netns, netns.server, [PYTHON, "-m", "tests.faults.subscribe", url, "--health"]
        ),
        stdout=asyncio.subprocess.PIPE,
        env=child_env(),
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 20)
    data: dict[str, Any] = json.loads(out)
    return data


@pytest.mark.parametrize(("partition_s", "buffer_s"), CUTS)
async def test_partition_then_heal_loses_no_word(
    partition_s: float,
    buffer_s: float,
    netns: Netns,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = tmp_path / "state"
    transcript = state / "rooms" / "main" / "transcript.jsonl"
    server = Child("server", tmp_path / "server.log")
    subscriber = Child("subscriber", tmp_path / "subscriber.log")
    node = Child("node", tmp_path / "node.log")
    base = f"{netns.server_ip}:{PORT}"
    try:
        await server.start(
            in_namespace(
                netns,
                netns.server,
                [
                    PYTHON,
                    "-m",
                    "tests.faults.serve_scripted",
                    "--host",
                    netns.server_ip,
                    "--port",
                    str(PORT),
                    "--state-dir",
                    str(state),
                ],
            )
        )
        await wait_until(
            lambda: {"_text": "LISTENING"} in server.lines, 30, f"the server ({server.log_text()})"
        )
        await subscriber.start(
            in_namespace(
                netns,
                netns.server,
                [
                    PYTHON,
                    "-m",
                    "tests.faults.subscribe",
                    f"ws://{base}/ws/captions/main?backlog=0",
                ],
            )
        )
        await wait_until(lambda: any(m.get("_open") for m in subscriber.lines), 30, "subscriber")
        await node.start(
            in_namespace(
                netns,
                netns.node,
                [
                    PYTHON,
                    "-m",
                    "tests.faults.node_scripted",
                    "--server",
                    f"http://{base}",
                    "--buffer-seconds",
                    str(buffer_s),
                ],
            )
        )

        def finals() -> list[dict[str, Any]]:
            return [m for m in subscriber.lines if m.get("type") == "final"]

        await wait_until(lambda: len(finals()) >= 2, 40, f"two finals ({node.log_text()[-800:]})")
        netns.partition()
        cut_at = time.time()
        await asyncio.sleep(partition_s)
        netns.heal()
        healed_at = time.time()

        def flowing_again() -> list[dict[str, Any]]:
            return [
                m
                for m in subscriber.lines
                if m.get("type") == "status" and m["audio"] == "flowing" and m["_at"] > healed_at
            ]

        await wait_until(lambda: bool(flowing_again()), 60, "the node streaming again")
        streaming_s = flowing_again()[0]["_at"] - healed_at
        # Captions resume: a final of words spoken after the heal.
        await wait_until(
            lambda: bool(
                set(words_in(finals()))
                & {
                    m["word"]
                    for m in node.lines
                    if "slot" in m and m["word"] and m["at"] > healed_at
                }
            ),
            60,
            "a final spoken after the heal",
        )
        first_new = next(
            m
            for m in finals()
            if m["_at"] > healed_at
            and set(words_in([m]))
            & {n["word"] for n in node.lines if "slot" in n and n["at"] > healed_at}
        )
        new_final_s = first_new["_at"] - healed_at
        during = await health(netns, tmp_path)
        await asyncio.sleep(2.0)
        code = await node.stop()
        assert code == 0, node.log_text()[-2000:]
        # Let the last words reach the screen (the node ended its stream cleanly). The last two
        # may be cut at the stop: after the reconnect the recognizer's 0.5 s chunks need not
        # start with a word, and the part of a chunk left at the end is not a word.
        said = [m["word"] for m in node.lines if "slot" in m and m["word"]]
        await wait_until(lambda: said[-3] in words_in(finals()), 20, "the last words as finals")
    finally:
        await node.stop()
        await subscriber.stop()
        await server.stop()

    # Nothing finalized is lost: every final seen is on disk, and the file is whole JSON lines.
    stored = read_transcript(transcript)
    assert {(m["segment"], m["text"]) for m in finals()} <= {
        (r["segment"], r["text"]) for r in stored
    }
    words = words_in(stored)
    assert len(words) == len(set(words)), "a word was finalized twice"
    slots = [m for m in node.lines if "slot" in m and m["word"]]
    missing = [m for m in slots if m["word"] not in set(words)]
    # Only the slot being spoken at the stop may be missing (the node stopped mid-word).
    tail = [m for m in missing if m["at"] >= slots[-1]["at"] - 1.0]
    lost = [m for m in missing if m not in tail]
    at_cut = [m for m in lost if cut_at - 3.0 <= m["at"] <= cut_at + 1.0]
    with capsys.disabled():
        print(
            f"\npartition {partition_s:.0f} s: {len(lost)} word(s) lost "
            f"({len(at_cut)} of them in flight at the cut) of {len(slots)} spoken"
        )
    assert lost == [], f"words lost: {lost}"
    assert [word_of_slot(m["slot"]) for m in slots] == [m["word"] for m in slots]

    # The node came back by itself and reported the gap; the server recorded it.
    [stopped] = [m for m in node.lines if "stopped" in m]
    link = stopped["link"]
    assert link["connects"] >= 2
    offline = [gap[1] for gap in link["gaps"]]
    assert offline, link
    assert max(offline) >= partition_s - 5, link
    assert stopped["buffer_dropped_bytes"] == 0, f"a {buffer_s:.0f} s buffer holds the outage"
    assert link["resent_s"], f"nothing was resent after the heal: {link}"
    source = during["rooms"]["main"]["source"]
    assert source is not None, during
    assert source["gaps"] >= 1, during
    assert re.search(r"was away [\d.]+ s and dropped 0\.0 s", server.log_text())
    busy = node.log_text().count("source_busy")
    dead_noticed = [
        m["_at"] - cut_at
        for m in subscriber.lines
        if m.get("type") == "status" and m["audio"] == "absent" and m["_at"] > cut_at
    ]
    with capsys.disabled():
        print(
            f"partition {partition_s:.0f} s: server dropped the dead session "
            f"{dead_noticed[0] if dead_noticed else float('nan'):.1f} s after the cut; after the "
            f"heal the node streamed again in {streaming_s:.1f} s ({busy} source_busy refusals), "
            f"first new final {new_final_s:.1f} s; node gap offline_s {max(offline):.1f}; "
            f"resent {link['resent_s']} s, of which the server had "
            f"{_repeated_s(server.log_text()):.1f} s and dropped it"
        )
    assert new_final_s < 45.0

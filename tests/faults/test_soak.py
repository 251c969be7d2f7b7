"""Soak: hours of audio at accelerated speed through two rooms with 200 subscribers.

The server is a child process (the real application with the scripted recognizer, so that it
is the server, not a recognizer, being measured), read through ``/proc``: resident memory
(VmRSS) and open file descriptors, sampled every half second. Two audio sources talk at
``SOAK_SPEED`` times real time (default 20); 100 subscribers per room follow (10 with
partials), 20 of them leaving and coming back every few seconds.

Asserted: every subscriber that stayed got every final of its room, in order; every word is
in the transcripts exactly once; after a warm-up (the first fifth of the audio) resident
memory grows by less than ``RSS_BOUND_MIB`` (15 MiB); during the run the descriptors stay
within the connections open; after everyone leaves they return to the count before the
clients came.

Length: ``SOAK_HOURS`` (hours of audio per room) or ``--soak-hours``; the default run (the
README's test command) soaks 10 minutes of audio per room, about 30 s; ``SOAK_HOURS=2`` is
the full two hours, about 6 minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import time
from pathlib import Path

import aiohttp
import pytest

from tests.faults.helpers import (
    MAIN_INTERPRETER_ONLY,
    SCRIPTED_SERVER,
    ServerProcess,
    child_env,
    fd_count,
    free_port,
    read_transcript,
    rss_kib,
    wait_until,
    word_audio,
    words_in,
)

SOAK_HOURS = float(os.environ.get("SOAK_HOURS", "0") or 0)
AUDIO_S = SOAK_HOURS * 3600 if SOAK_HOURS > 0 else 600.0
SPEED = float(os.environ.get("SOAK_SPEED", "20"))
ROOMS = ("soak-a", "soak-b")
SUBSCRIBERS = 200
WITH_PARTIALS = 10  # per room
CHURNERS = 20
RSS_BOUND_MIB = 15.0
WARM_UP = 0.2
SENTENCE_S = 2.5  # four 0.5 s words and a 0.5 s pause
FRAME_BYTES = 3200

pytestmark = [
    pytest.mark.faults,
    pytest.mark.soak,
    MAIN_INTERPRETER_ONLY,
    pytest.mark.timeout(int(180 + 2.5 * AUDIO_S / SPEED)),
]


class Follower:
    """One subscriber: counts finals, notes a close it did not ask for."""

    def __init__(self, room: str, partials: bool, churn: bool) -> None:
        self.room = room
        self.partials = partials
        self.churn = churn
        self.segments: list[int] = []
        self.closed_by_server: list[int | None] = []
        self.reconnects = 0


async def run_follower(
    http: aiohttp.ClientSession, base: str, follower: Follower, stop: asyncio.Event
) -> None:
    query = f"backlog=0&partials={int(follower.partials)}"
    while not stop.is_set():
        async with http.ws_connect(f"{base}/ws/captions/{follower.room}?{query}") as ws:
            leave_at = time.monotonic() + random.uniform(1.0, 4.0) if follower.churn else None
            while not stop.is_set():
                timeout = 1.0 if leave_at is None else max(0.05, leave_at - time.monotonic())
                try:
                    msg = await ws.receive(timeout=timeout)
                except TimeoutError:
                    if leave_at is not None and time.monotonic() >= leave_at:
                        break
                    continue
                if msg.type == aiohttp.WSMsgType.TEXT:
                    data = json.loads(msg.data)
                    if data["type"] == "final":
                        follower.segments.append(data["segment"])
                elif msg.type in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSED,
                    aiohttp.WSMsgType.ERROR,
                ):
                    follower.closed_by_server.append(ws.close_code)
                    return
        follower.reconnects += 1


async def run_source(http: aiohttp.ClientSession, base: str, room: str, sentences: int) -> int:
    """Talk ``sentences`` sentences at ``SPEED`` times real time; the number of finals."""
    async with http.ws_connect(f"{base}/ws/audio/{room}", max_msg_size=0) as ws:
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "format": "s16le",
                    "sample_rate": 16000,
                    "channels": 1,
                    "language": "en-US",
                    "client": {"name": "soak", "version": "0"},
                }
            )
        )
        assert json.loads((await ws.receive(timeout=30)).data)["type"] == "ready"
        frame_s = FRAME_BYTES / 32000 / SPEED
        start = time.monotonic()
        sent = 0
        for s in range(sentences):
            pcm = b"".join(word_audio(n) for n in [s * 4 + 1, s * 4 + 2, s * 4 + 3, s * 4 + 4, 0])
            for offset in range(0, len(pcm), FRAME_BYTES):
                await ws.send_bytes(pcm[offset : offset + FRAME_BYTES])
                sent += 1
                delay = start + sent * frame_s - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
        await ws.send_str('{"type": "end"}')
        while True:
            msg = await ws.receive(timeout=60)
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            data = json.loads(msg.data)
            if data["type"] == "ended":
                return int(data["finals"])


async def test_soak_two_rooms_200_subscribers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sentences = int(AUDIO_S / SENTENCE_S)
    env = child_env(EDGE_SERVER_CONNECT_BURST="100000", EDGE_SERVER_CONNECT_RATE="100000")
    server = ServerProcess(
        SCRIPTED_SERVER, free_port(), tmp_path / "state", tmp_path / "server.log", env=env
    )
    samples: list[tuple[float, int, int]] = []  # (seconds of audio sent, RSS KiB, fds)
    progress = {"audio_s": 0.0}
    try:
        await server.start(["--no-fsync"])
        pid = server.pid
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            for room in ROOMS:  # create the rooms (transcript files open) before the baseline
                async with http.ws_connect(f"{server.ws}/ws/captions/{room}") as ws:
                    await ws.receive(timeout=10)
            await asyncio.sleep(1.0)
            fds_before = fd_count(pid)
            rss_start = rss_kib(pid)

            stop = asyncio.Event()
            followers = [
                Follower(
                    ROOMS[i % 2], partials=i // 2 < WITH_PARTIALS, churn=i >= SUBSCRIBERS - CHURNERS
                )
                for i in range(SUBSCRIBERS)
            ]
            tasks = [asyncio.create_task(run_follower(http, server.ws, f, stop)) for f in followers]
            await asyncio.sleep(2.0)  # everyone connected before the talk starts

            started = time.monotonic()

            async def sample() -> None:
                while True:
                    progress["audio_s"] = (time.monotonic() - started) * SPEED
                    samples.append((progress["audio_s"], rss_kib(pid), fd_count(pid)))
                    await asyncio.sleep(0.5)

            sampler = asyncio.create_task(sample())
            finals = await asyncio.gather(
                *(run_source(http, server.ws, room, sentences) for room in ROOMS)
            )
            talk_s = time.monotonic() - started
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
            stayed = [f for f in followers if not f.churn]
            await wait_until(
                lambda: all(len(f.segments) >= sentences for f in stayed), 60, "every final"
            )
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), 30)
        fds_back_s = await wait_until(lambda: fd_count(pid) <= fds_before, 20, "fds to return")
        rss_end = rss_kib(pid)
    finally:
        await server.stop()

    assert finals == [sentences, sentences]
    for room in ROOMS:
        stored = read_transcript(tmp_path / "state" / "rooms" / room / "transcript.jsonl")
        assert words_in(stored) == list(range(1, sentences * 4 + 1))
    for f in stayed:
        assert f.closed_by_server == [], f"a subscriber was closed: {f.closed_by_server}"
        assert len(f.segments) == sentences
        assert f.segments == sorted(f.segments)
    churned = sum(f.reconnects for f in followers if f.churn)
    warm = [s for s in samples if s[0] >= WARM_UP * AUDIO_S]
    assert warm, "no samples after the warm-up"
    rss_warm = warm[0][1]
    rss_peak = max(s[1] for s in warm)
    growth_mib = (rss_peak - rss_warm) / 1024
    fds_peak = max(s[2] for s in samples)
    with capsys.disabled():
        print(
            f"\nsoak: {AUDIO_S / 60:.0f} min of audio per room x2 in {talk_s:.0f} s "
            f"({SPEED:g}x), {SUBSCRIBERS} subscribers ({churned} reconnections by "
            f"{CHURNERS} churners), {sentences} finals per room; RSS start "
            f"{rss_start / 1024:.1f} MiB, after warm-up {rss_warm / 1024:.1f}, peak "
            f"{rss_peak / 1024:.1f}, end {rss_end / 1024:.1f} (growth {growth_mib:.2f} MiB, "
            f"bound {RSS_BOUND_MIB:g}); fds {fds_before} before, peak {fds_peak}, back to "
            f"{fds_before} {fds_back_s:.1f} s after the clients left"
        )
    assert growth_mib < RSS_BOUND_MIB
    assert fds_peak <= fds_before + SUBSCRIBERS + len(ROOMS) + 10

"""The embedded engine on one Raspberry Pi 4 core: ``python -m bench --only pi_budget``.

1. How much slower a Pi 4 core is: ``sysbench cpu`` with one thread here, against the published
   Pi 4 figure (1,478 events/s). A Pi 4 core is about a third of this machine's; an integer test
   flatters the Pi, so the budget is 20 % of one core here (:data:`QUOTA`).
2. Each search profile's CPU per second of audio and word error rate on the LibriVox set
   (:mod:`bench.procs.searchsweep`).
3. A talk in real time: the server (:mod:`bench.procs.serve`, the real embedded engine) and its
   recognizer worker inside a CPU quota (:mod:`bench.lib.cpuquota`), the LibriVox recordings
   played in turn, each followed by a 1.5 s pause, for 10 minutes (``--quick``: 2), in 100 ms
   frames at real-time pace over the real uplink; one subscriber receives the captions. A
   final's latency is the time from sending the frame that holds its end to receiving it (the
   caption latency the status page reports, plus loopback). Reported per minute (p50, p95,
   max), with the growth from the first minute to the last, the CPU seconds the quota's
   processes used and how often the kernel held them back, the word error rate over the whole
   talk, and the search steps the room used (sampled from ``/healthz``). Runs with the
   ``adaptive`` search (the product default) and, in the full run, with ``classic``
   (pocketsphinx's own defaults, what the product used before) for 3 minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiohttp

from bench.lib import cpuquota
from bench.lib.loadgen import HOST, AudioSource, paced
from bench.lib.procstat import loadavg, summary_s
from bench.lib.spawn import run_json, server_process
from bench.lib.talk import build_talk, growth, per_minute, talk_wer, trend
from bench.lib.wsraw import TEXT, connect
from bench.procs.searchsweep import corpus

QUOTA = 0.20
PI4_SYSBENCH = 1478.0
"""sysbench cpu, one thread, Raspberry Pi 4 Model B (1.5 GHz Cortex-A72), published figure."""
FRAME_S = 0.1
FRAME_BYTES = 3200
QUIET_SYSBENCH = 4400.0
"""sysbench here on a quiet machine (4,283 to 4,365 measured during this work; the env notes
say about 4,400): the figure the 20 % was chosen with. A busy machine reads lower (the other
job shares the core's caches and pipeline), so the run's own reading comes with its load."""
TARGET_P95_S = 1.5
TODAY_STREAMED_WER = 0.310
"""The streamed WER the README reported before this work (``classic`` search, LibriVox set)."""


def sysbench_events_per_s(seconds: int = 10) -> float | None:
    """``sysbench cpu --threads=1`` events per second here (None without sysbench)."""
    if shutil.which("sysbench") is None:
        return None
    out = subprocess.run(
        ["sysbench", "cpu", "--threads=1", f"--time={seconds}", "run"],
        capture_output=True, text=True, check=False, timeout=seconds + 30,
    ).stdout  # fmt: skip
    found = re.search(r"events per second:\s*([\d.]+)", out)
    return float(found.group(1)) if found else None


async def run_talk(
    search: str, seconds: float, quota: float | None, log: Callable[[str], None]
) -> dict[str, Any]:
    """One talk in real time against a fresh server with ``search``, inside ``quota``."""
    pcm, segments = build_talk(corpus(), seconds)
    frames = len(pcm) // FRAME_BYTES
    sent_at: list[float] = [0.0] * frames
    finals: list[tuple[float, float, str]] = []
    latencies: list[tuple[float, float]] = []
    steps: Counter[str] = Counter()
    lags: list[float] = []
    behind_samples = 0

    def on_caption(opcode: int, payload: bytes, now: float) -> None:
        if opcode != TEXT:
            return
        message = json.loads(payload)
        if message.get("type") != "final":
            return
        start, end = float(message["start"]), float(message["end"])
        finals.append((start, end, str(message["text"])))
        index = min(frames - 1, max(0, int(end / FRAME_S + 0.999) - 1))
        if sent_at[index]:
            latencies.append((end, now - sent_at[index]))

    with tempfile.TemporaryDirectory(prefix="bench-pi-") as state:
        args = ["--state", state, "--mode", "real", "--offline-search", search]
        limit: contextlib.AbstractContextManager[cpuquota.CpuQuota | None] = (
            cpuquota.CpuQuota(quota) if quota else contextlib.nullcontext()
        )
        async with server_process(args) as (proc, port):
            with limit as group:
                if group is not None:
                    group.add(proc.pid)  # the worker, started with the stream, inherits it
                in_quota_since = time.monotonic()
                captions = await connect(HOST, port, "/ws/captions/main?backlog=0", on_caption)
                source = AudioSource()
                await source.open(port, "main")
                started = time.monotonic()

                def send(k: int) -> None:
                    sent_at[k] = source.send(pcm[k * FRAME_BYTES : (k + 1) * FRAME_BYTES])

                async def watch() -> None:
                    nonlocal behind_samples
                    async with aiohttp.ClientSession() as http:
                        while True:
                            await asyncio.sleep(2.0)
                            async with http.get(f"http://{HOST}:{port}/healthz") as answer:
                                room = (await answer.json())["rooms"].get("main", {})
                            steps[str(room.get("search"))] += 1
                            if room.get("recognizer_lag_s") is not None:
                                lags.append(float(room["recognizer_lag_s"]))
                            behind_samples += bool(room.get("behind"))

                watcher = asyncio.ensure_future(watch())
                for block in range(0, frames, 600):  # a minute at a time, for progress
                    count = min(600, frames - block)

                    def step(k: int, first: int = block) -> None:
                        send(first + k)

                    await paced(count, FRAME_S, started + block * FRAME_S, step)
                    recent = [v for t, v in latencies if t >= block * FRAME_S]
                    p95 = summary_s(recent)["p95_s"]
                    log(
                        f"  {search}: {(block + count) * FRAME_S / 60:.0f} min sent, "
                        f"{len(finals)} finals, p95 this minute {p95} s"
                    )
                await source.finish(wait_s=120.0)
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
                stats = group.stats() if group is not None else None
                in_quota_s = time.monotonic() - in_quota_since
                captions.close()
    minutes = per_minute(latencies)
    wall = frames * FRAME_S
    result: dict[str, Any] = {
        "search": search,
        "quota": quota,
        "talk_s": round(wall, 1),
        "finals": len(finals),
        "latency": summary_s([v for _, v in latencies]),
        "per_minute": minutes,
        "growth_s": growth(minutes),
        "trend_s": trend(latencies),
        "wer": round(talk_wer(segments, finals), 3),
        "words": sum(len(s.reference.split()) for s in segments),
        "steps": dict(steps),
        "lag_max_s": max(lags) if lags else None,
        "behind_samples": behind_samples,
    }
    if stats is not None:
        result["cpu_s"] = round(stats.usage_s, 1)
        # Of the budget over the whole time in the quota: the talk and the wait for its last
        # captions (a recognizer that fell behind still works after the talk ends).
        result["in_quota_s"] = round(in_quota_s, 1)
        result["cpu_share_of_budget"] = round(stats.usage_s / (quota or 1) / in_quota_s, 3)
        result["throttled_periods"] = stats.throttled_periods
        result["periods"] = stats.periods
    return result


async def measure(quick: bool, log: Callable[[str], None]) -> dict[str, Any]:
    """The sysbench comparison, the profile sweep and the real-time talks."""
    problem = cpuquota.problem()
    if problem:
        raise RuntimeError(f"pi_budget: {problem}")
    load = loadavg()[0]
    here = await asyncio.to_thread(sysbench_events_per_s, 5 if quick else 10)
    log(f"  sysbench cpu, one thread: {here} events/s here, {PI4_SYSBENCH:g} on a Pi 4")
    sweep = await run_json(
        ["-m", "bench.procs.searchsweep", "--repeat", "1" if quick else "3"], limit_s=600
    )
    for row in sweep["profiles"]:
        log(f"  {row['profile']}: {row['cpu_per_audio_s']} CPU s per audio s, WER {row['wer']}")
    talks = [await run_talk("adaptive", 120 if quick else 600, QUOTA, log)]
    if not quick:
        talks.append(await run_talk("classic", 180, QUOTA, log))
    return {
        "quota": QUOTA,
        "sysbench_here": here,
        "sysbench_load": load,
        "sysbench_quiet": QUIET_SYSBENCH,
        "sysbench_pi4": PI4_SYSBENCH,
        "pi4_share": round(PI4_SYSBENCH / here, 3) if here else None,
        "today_streamed_wer": TODAY_STREAMED_WER,
        "target_p95_s": TARGET_P95_S,
        "profiles": sweep["profiles"],
        "talks": talks,
    }

"""CPU per room-hour and resident memory: edge-server per room (offline and cloud engines) and
edge-audio.

The server runs as its own process (:mod:`bench.procs.serve` with the engines its settings name);
its CPU and memory include its children (one pocketsphinx worker process per offline room).
The cloud rooms use the real Amazon Transcribe SDK through the product's adapter against the
local HTTP/2 + TLS fake (:mod:`bench.lib.cloudfake`), reached through the standard ``AWS_*``
variables, as in tests/edge_server/rooms/test_cloud_room.py. Speech: the LibriVox recordings,
in real time.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.lib.cloudfake import transcribe_fake
from bench.lib.procstat import loadavg, tree_pss_mb, tree_rss_mb
from bench.lib.spawn import run_json, server_process

BASELINE_TARGET_MB = 80.0
PER_ROOM_TARGET_MB = 10.0
EDGE_AUDIO_TARGET_MB = 40.0


async def engine_run(
    engine: str, room_counts: list[int], seconds: float, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Idle baseline, then K rooms streaming speech, for each K (a fresh server each)."""
    runs = []
    baseline = None
    for rooms in room_counts:
        with tempfile.TemporaryDirectory(prefix="bench-res-") as state:
            args = ["--state", state, "--mode", "real", "--engine", engine]
            async with server_process(args, env) as (proc, port):
                await asyncio.sleep(2.0)
                idle, idle_pss = tree_rss_mb(proc.pid), tree_pss_mb(proc.pid)
                baseline = idle if baseline is None else min(baseline, idle)
                load = [
                    "-m", "bench.procs.loadcloud", "speech", "--port", str(port), "--server-pid",
                    str(proc.pid), "--rooms", str(rooms), "--seconds", str(seconds),
                ]  # fmt: skip
                result = await run_json(load, limit_s=seconds + 120)
                result["idle_rss_mb"] = round(idle, 1)
                result["idle_pss_mb"] = round(idle_pss, 1)
                runs.append(result)
    assert baseline is not None
    per_room = [(r["server_rss_mb"] - r["idle_rss_mb"]) / r["rooms"] for r in runs]
    slope = None
    if len(runs) >= 2 and runs[-1]["rooms"] != runs[0]["rooms"]:
        slope = (runs[-1]["server_rss_mb"] - runs[0]["server_rss_mb"]) / (
            runs[-1]["rooms"] - runs[0]["rooms"]
        )
    cpu = [r["cpu_s_per_room_hour"] for r in runs]
    return {
        "engine": engine,
        "baseline_rss_mb": round(baseline, 1),
        "rss_mb_per_room": round(max(per_room), 1),
        "rss_mb_per_added_room": None if slope is None else round(slope, 1),
        "cpu_s_per_room_hour": round(sum(cpu) / len(cpu), 1),
        "cpu_percent_of_one_core_per_room": round(sum(cpu) / len(cpu) / 36, 2),
        "runs": runs,
    }


async def edge_audio_run(seconds: float) -> dict[str, Any]:
    """``edge-audio run`` capturing from a private PipeWire (bench/standalone/edge_audio_cpu.py)."""
    from bench.standalone import edge_audio_cpu

    load0 = loadavg()
    result = await asyncio.to_thread(edge_audio_cpu.run, seconds)
    result["cpu_s_per_room_hour"] = round(result["cpu_percent_of_one_core"] * 36, 1)
    result["loadavg"] = [load0, loadavg()]
    return result


async def measure(quick: bool, log: Callable[[str], None] = print) -> dict[str, Any]:
    """The three measurements and the memory verdicts."""
    seconds = 6.0 if quick else 30.0
    out: dict[str, Any] = {"seconds_per_run": seconds}
    out["offline"] = await engine_run("pocketsphinx", [1] if quick else [1, 2], seconds)
    log(_line("offline (pocketsphinx)", out["offline"]))
    with tempfile.TemporaryDirectory(prefix="bench-fake-") as folder:
        async with transcribe_fake(Path(folder)) as env:
            counts = [1, 2] if quick else [1, 4]
            out["cloud"] = await engine_run("transcribe", counts, seconds, env)
    log(_line("cloud (transcribe fake)", out["cloud"]))
    try:
        out["edge_audio"] = await edge_audio_run(seconds)
        log(
            f"  edge-audio: {out['edge_audio']['cpu_s_per_room_hour']} CPU s per hour, "
            f"{out['edge_audio'].get('rss_mb')} MB resident"
        )
    except (OSError, RuntimeError, SystemExit) as exc:
        out["edge_audio"] = {"error": f"{type(exc).__name__}: {exc}"}
        log(f"  edge-audio: not measured ({exc})")
    cloud = out["cloud"]
    per_room = cloud["rss_mb_per_added_room"] or cloud["rss_mb_per_room"]
    out["targets"] = {
        "server_baseline_mb": BASELINE_TARGET_MB,
        "server_per_cloud_room_mb": PER_ROOM_TARGET_MB,
        "edge_audio_mb": EDGE_AUDIO_TARGET_MB,
    }
    out["baseline_met"] = cloud["baseline_rss_mb"] <= BASELINE_TARGET_MB
    out["per_room_met"] = per_room <= PER_ROOM_TARGET_MB
    rss = out["edge_audio"].get("rss_mb")
    out["edge_audio_met"] = rss is not None and rss <= EDGE_AUDIO_TARGET_MB
    return out


def _line(label: str, run: dict[str, Any]) -> str:
    return (
        f"  {label}: {run['cpu_s_per_room_hour']} CPU s per room-hour, baseline "
        f"{run['baseline_rss_mb']} MB, +{run['rss_mb_per_room']} MB per room "
        f"(added room: {run['rss_mb_per_added_room']})"
    )

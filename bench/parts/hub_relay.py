"""The conference hub at scale: 4 rooms replicating to a real ``redis-server``, 2 real
``edge-server hub`` processes, thousands of remote listeners (``python -m bench.parts.hub_relay
--listeners 5000``, or ``python -m bench --only hub_relay``).

- **Rooms**: 4 real room servers (:mod:`bench.procs.serve`, one process per room as on the
  Pis), each with the fixed-latency recognizer (a trigger frame is a final at once; its text is
  73 characters, the storage doc's measured average), the echo translator into 2 targets, the
  transcript fsync'ed as in service, and ``replicate_to`` the Redis. Each room writes when it
  published each final (its own pipeline trace, ``time.monotonic()``) to a file.
- **Redis**: Debian's ``redis-server`` (:mod:`bench.lib.redisproc`), password, no persistence.
- **Hubs**: 2 x ``python -m edge_server.cli hub`` (the product's command), per-address
  connection limits raised (every listener comes from 127.0.0.1).
- **Listeners**: :mod:`bench.procs.hublisten` processes of up to ``PER_CLIENT`` WebSockets
  each, spread over both hubs and all rooms, ``backlog=0``.

The audio sources send 100 ms frames in real time; each room gets a trigger every ``period``
seconds (staggered), faster than a talk (557 finals per hour, storage.md) so the window holds
enough finals. Measured: latency from the room's publication to the remote listener's read;
hub CPU (``/proc/<pid>/stat``) with listeners idle and while finals flow; Redis memory per
final (``MEMORY USAGE`` of the rooms' streams, and of a scratch stream filled with copies of a
replicated final to twice its ``MAXLEN ~`` bound: the per-final cost at scale and proof that
the bound holds; ``used_memory`` before and after, for the record); finals published,
expected, received, missed, duplicated, out of order.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.lib.engines import FRAME_BYTES, trigger_frame
from bench.lib.loadgen import AudioSource, paced
from bench.lib.procstat import CpuWindow, loadavg, percentile, rss_mb
from bench.lib.redisproc import RedisProcess, free_port
from bench.lib.spawn import PYTHON, child_env, listening_process, server_process, stop
from bench.lib.streamwatch import StreamWatch
from bench.procs.hublisten import raise_fd_limit, read_published

ROOMS = ("hall-a", "hall-b", "hall-c", "hall-d")
HUBS = 2
PER_CLIENT = 1000
"""Listeners per load-generator process."""
TEXT_PREFIX = "this is what a sentence of a real talk looks like in the transcript "
"""With ``m<id>``: about 73 characters, the average final measured in docs/storage.md."""
TARGETS = "it,de"
FINALS_PER_HOUR = 557
"""A room's finals per hour of talk (docs/storage.md)."""
STREAM_KEY = "edge:room:{}:finals"
FILL_MAXLEN = 10_000
"""The bound of the scratch stream filled with a room's real final to twice that many."""
SILENCE = bytes(FRAME_BYTES)
FRAME_S = 0.1


def merge_histograms(parts: list[dict[str, int]]) -> Counter[int]:
    """Sum per-process latency histograms (millisecond buckets)."""
    total: Counter[int] = Counter()
    for part in parts:
        for key, count in part.items():
            total[int(key)] += count
    return total


def hist_percentile(histogram: Counter[int], fraction: float) -> float | None:
    """Nearest-rank percentile of a millisecond histogram (the bucket's upper edge)."""
    count = sum(histogram.values())
    if count == 0:
        return None
    rank = max(1, math.ceil(fraction * count))
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return float(bucket + 1)
    return float(max(histogram) + 1)


async def start_clients(
    hubs: list[int], listeners: int, published_dir: Path, wait_s: float
) -> list[asyncio.subprocess.Process]:
    """The listener processes, each connected (``CONNECTED n`` read) before this returns."""
    procs = []
    for first in range(0, listeners, PER_CLIENT):
        count = min(PER_CLIENT, listeners - first)
        args = [
            "-m", "bench.procs.hublisten", "--hubs", ",".join(map(str, hubs)),
            "--rooms", ",".join(ROOMS), "--listeners", str(count), "--first", str(first),
            "--published-dir", str(published_dir),
        ]  # fmt: skip
        procs.append(
            await asyncio.create_subprocess_exec(
                PYTHON,
                *args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env=child_env(),
                cwd=published_dir.parents[0],
            )
        )
    for proc in procs:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), wait_s)).decode()
        if not line.startswith("CONNECTED "):
            raise RuntimeError(f"a listener process did not connect: {line!r}")
    return procs


async def finish_clients(procs: list[asyncio.subprocess.Process], t0: float) -> list[Any]:
    """Tell every listener process to stop and tally; their JSON results."""
    results = []
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(f"STOP {t0}\n".encode())
        await proc.stdin.drain()
    for proc in procs:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 300)
        results.append(json.loads(line))
        await stop(proc)
    return results


def published_count(folder: Path, room: str) -> int:
    """Finals the room has published so far."""
    path = folder / f"{room}.published"
    return len(path.read_text().splitlines()) if path.exists() else 0


def _warnings(log_path: Path, keep: int = 5) -> dict[str, Any]:
    """How many lines a hub logged at WARNING or above, and the last few."""
    lines = [
        line
        for line in log_path.read_text(errors="replace").splitlines()
        if any(level in line for level in ("WARNING", "ERROR", "CRITICAL"))
    ]
    return {"count": len(lines), "last": lines[-keep:]}


async def run_once(
    listeners: int, seconds: float, period: float, idle_s: float, log: Callable[[str], None]
) -> dict[str, Any]:
    """One run: everything started fresh, measured, stopped."""
    raise_fd_limit()  # the hubs and listener processes inherit it
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as tmp:
        folder = Path(tmp)
        published_dir = folder / "published"
        published_dir.mkdir()
        redis = RedisProcess(folder / "redis").start()
        try:
            async with contextlib.AsyncExitStack() as stack:
                return await _measure(
                    stack, redis, folder, published_dir, listeners, seconds, period, idle_s, log
                )
        finally:
            redis.stop()


async def _measure(
    stack: contextlib.AsyncExitStack,
    redis: RedisProcess,
    folder: Path,
    published_dir: Path,
    listeners: int,
    seconds: float,
    period: float,
    idle_s: float,
    log: Callable[[str], None],
) -> dict[str, Any]:
    rooms = []
    for name in ROOMS:
        args = [
            "--state", str(folder / f"room-{name}"), "--replicate-to", redis.url,
            "--targets", TARGETS, "--prefix", TEXT_PREFIX,
            "--published", str(published_dir / f"{name}.published"),
        ]  # fmt: skip
        rooms.append(await stack.enter_async_context(server_process(args)))
    sources = []
    for (_, port), name in zip(rooms, ROOMS, strict=True):
        source = AudioSource()
        await source.open(port, name)
        sources.append(source)
    for _ in range(300):  # each room's replicator lists it in Redis (the hubs look there)
        if int(redis.ask("SCARD", "edge:rooms")[1:]) == len(ROOMS):
            break
        await asyncio.sleep(0.1)
    else:
        raise RuntimeError("the rooms did not list themselves in Redis")
    hub_env = {
        "EDGE_SERVER_HUB_REDIS": redis.url,
        "EDGE_SERVER_CONNECT_BURST": "100000",
        "EDGE_SERVER_CONNECT_RATE": "100000",
        "EDGE_SERVER_LOG_LEVEL": "WARNING",
    }
    hub_ports = [free_port() for _ in range(HUBS)]
    hubs = []
    for index, port in enumerate(hub_ports):
        args = ["-m", "edge_server.cli", "hub", "--host", "127.0.0.1", "--port", str(port)]
        log_path = folder / f"hub-{index}.log"
        hubs.append(
            await stack.enter_async_context(listening_process(args, port, log_path, hub_env))
        )
    connections0 = redis.info("stats", "total_connections_received")
    hub_rss0 = [round(rss_mb(h.pid), 1) for h in hubs]
    started = time.monotonic()
    clients = await start_clients(hub_ports, listeners, published_dir, wait_s=600)
    connect_s = time.monotonic() - started
    connections1 = redis.info("stats", "total_connections_received")
    log(f"  {listeners} listeners connected in {connect_s:.1f} s (load {loadavg()[0]})")
    t0 = 0.0
    try:
        idle = [CpuWindow(h.pid).start() for h in hubs]
        await asyncio.sleep(idle_s)
        for window in idle:
            window.stop()
        memory0 = redis.used_memory()
        load0 = loadavg()
        windows = [CpuWindow(h.pid).start() for h in hubs]
        redis_window = CpuWindow(redis.pid).start()
        every = max(1, round(period / FRAME_S))
        frames = int(seconds / FRAME_S)
        t0 = time.monotonic()
        sent = [0] * len(ROOMS)

        def step(k: int) -> None:
            for index, source in enumerate(sources):
                if (k + index * every // len(ROOMS)) % every == 0:
                    sent[index] += 1
                    source.send(trigger_frame(sent[index]))
                else:
                    source.send(SILENCE)

        watch = await StreamWatch(redis.url, [STREAM_KEY.format(n) for n in ROOMS]).start()
        await paced(frames, FRAME_S, t0, step)
        for window in [*windows, redis_window]:
            window.stop()
        load1 = loadavg()
        for _ in range(300):  # every trigger published by its room and in Redis (60 s at most)
            if all(
                published_count(published_dir, n) >= s and redis.xlen(STREAM_KEY.format(n)) >= s
                for n, s in zip(ROOMS, sent, strict=True)
            ):
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(5.0)  # the last finals reach every listener
        await watch.stop()
        memory1 = redis.used_memory()
        stream_lengths = {n: redis.xlen(STREAM_KEY.format(n)) for n in ROOMS}
        stream_bytes = sum(redis.memory_usage(STREAM_KEY.format(n)) for n in ROOMS)
        bound = redis.fill_bound(STREAM_KEY.format(ROOMS[0]), FILL_MAXLEN, 2 * FILL_MAXLEN)
        hub_rss = [round(rss_mb(h.pid), 1) for h in hubs]
    finally:
        results = await finish_clients(clients, t0)
    for source in sources:
        await source.finish()
    publications = {n: read_published(published_dir / f"{n}.published") for n in ROOMS}
    histogram = merge_histograms([r["latency_hist_ms"] for r in results])
    first: dict[str, float] = {}
    for r in results:
        for key, lag in r["first_ms"].items():
            first[key] = min(first.get(key, lag), lag)
    firsts = sorted(first.values())
    to_redis = sorted(
        1000 * (at - publications[n][segment])
        for n in ROOMS
        for segment, at in watch.arrived[STREAM_KEY.format(n)].items()
        if segment in publications[n]
    )
    replicated = sum(stream_lengths.values())
    published = sum(published_count(published_dir, n) for n in ROOMS)
    connected = sum(r["listeners"] for r in results)
    hub_cpu = sum(w.cpu for w in windows)
    hub_idle_cpu = sum(w.cpu for w in idle)
    wall = windows[0].wall
    per_k = connected / 1000
    per_entry = bound["bytes_per_entry"]
    finals_per_s = len(ROOMS) / period
    kinds = ("expected", "received", "missed", "duplicates", "out_of_order", "dropped")
    counts = {k: sum(r[k] for r in results) for k in kinds}
    active_pct = 100 * hub_cpu / wall / per_k
    idle_pct = 100 * hub_idle_cpu / idle[0].wall / per_k
    talk_pct = idle_pct + (active_pct - idle_pct) * (FINALS_PER_HOUR / 3600) * period
    return {
        "rooms": len(ROOMS),
        "hubs": HUBS,
        "listeners": listeners,
        "listeners_connected": connected,
        "listener_processes": len(results),
        "connect_s": round(connect_s, 1),
        "seconds": seconds,
        "final_period_s": period,
        "finals_published": published,
        "finals_replicated": replicated,
        "deliveries_expected": counts["expected"],
        "deliveries_received": counts["received"],
        "missed": counts["missed"],
        "duplicates": counts["duplicates"],
        "out_of_order": counts["out_of_order"],
        "dropped": counts["dropped"],
        "drop_codes": sorted({c for r in results for c in r["drop_codes"]}),
        "complete_and_ordered": not (
            counts["missed"] or counts["duplicates"] or counts["out_of_order"] or counts["dropped"]
        ),
        "latency_ms": {
            "count": sum(histogram.values()),
            "p50": hist_percentile(histogram, 0.50),
            "p99": hist_percentile(histogram, 0.99),
            "max": max((r["latency_max_ms"] for r in results), default=None),
        },
        "redis_arrival_latency_ms": {
            "count": len(to_redis),
            "p50": round(percentile(to_redis, 0.5), 2) if to_redis else None,
            "p99": round(percentile(to_redis, 0.99), 2) if to_redis else None,
            "max": round(to_redis[-1], 2) if to_redis else None,
        },
        "first_listener_latency_ms": {
            "count": len(firsts),
            "p50": percentile(firsts, 0.5) if firsts else None,
            "p99": percentile(firsts, 0.99) if firsts else None,
            "max": firsts[-1] if firsts else None,
        },
        "hub_cpu_s": round(hub_cpu, 2),
        "hub_cpu_percent": [round(100 * w.cpu / w.wall, 1) for w in windows],
        "hub_cpu_percent_per_1000": round(active_pct, 2),
        "hub_cpu_s_per_1000_per_min": round(hub_cpu / per_k / (wall / 60), 2),
        "hub_idle_cpu_percent_per_1000": round(idle_pct, 2),
        "hub_talk_rate_cpu_percent_per_1000": round(talk_pct, 2),
        "hub_cpu_us_per_delivery": round(1e6 * hub_cpu / counts["received"], 1)
        if counts["received"]
        else None,
        "finals_per_s_all_rooms": finals_per_s,
        "hub_rss_mb": hub_rss,
        "hub_rss_mb_before_listeners": hub_rss0,
        "hub_kb_per_listener": round(1024 * (sum(hub_rss) - sum(hub_rss0)) / connected)
        if connected
        else None,
        "redis_cpu_percent": round(redis_window.percent, 2),
        "redis_used_memory_delta": memory1 - memory0,
        "redis_stream_bytes_per_final_in_run": round(stream_bytes / replicated)
        if replicated
        else None,
        "redis_bound": bound,
        "redis_bytes_per_final": per_entry,
        "redis_mb_per_room_hour": round(per_entry * FINALS_PER_HOUR / 1e6, 3),
        "stream_lengths": stream_lengths,
        "listener_cpu_s": round(sum(r["cpu_s"] for r in results), 1),
        "redis_connections_while_listeners_connect": connections1 - connections0,
        "hub_log_warnings": [_warnings(folder / f"hub-{i}.log") for i in range(HUBS)],
        "loadavg": [load0, load1],
    }


async def measure(quick: bool, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Quick: 400 listeners for 10 s; full: 500 listeners for 20 s (the latency with few
    listeners, at the same machine load), then 5,000 for 60 s (the figures)."""
    if quick:
        found = await run_once(400, 10.0, period=1.0, idle_s=5.0, log=log)
    else:
        small = await run_once(500, 20.0, period=1.0, idle_s=5.0, log=log)
        found = await run_once(5000, 60.0, period=1.0, idle_s=15.0, log=log)
        found["small_run"] = {
            k: small[k]
            for k in ("listeners_connected", "latency_ms", "missed", "out_of_order",
                      "hub_cpu_percent_per_1000", "loadavg")
        }  # fmt: skip
    log(
        f"  hub: {found['listeners_connected']} listeners, latency p50 "
        f"{found['latency_ms']['p50']} ms p99 {found['latency_ms']['p99']} ms max "
        f"{found['latency_ms']['max']} ms; missed {found['missed']}, out of order "
        f"{found['out_of_order']}; hub CPU {found['hub_cpu_percent_per_1000']} % per 1,000; "
        f"Redis {found['redis_bytes_per_final']} B per final; load {found['loadavg'][1][0]}"
    )
    return found


def main() -> int:
    """Command line: one run with the given counts; exit 1 if any listener missed a final."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listeners", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--period", type=float, default=1.0, help="seconds between a room's finals")
    parser.add_argument("--idle", type=float, default=15.0, help="idle window before finals, s")
    args = parser.parse_args()
    found = asyncio.run(
        run_once(
            args.listeners,
            args.seconds,
            args.period,
            args.idle,
            lambda s: print(s, file=sys.stderr),
        )
    )
    print(json.dumps(found, indent=1))
    return 0 if found["complete_and_ordered"] else 1


if __name__ == "__main__":
    sys.exit(main())

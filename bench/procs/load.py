"""The load generator process: ``python -m bench.procs.load pipeline --port P ...``.

``pipeline``: R rooms, S subscribers each; every room's source sends 100 ms frames in real time
and, every ``period`` seconds, a trigger frame the fixed-latency recognizer answers with a
final. Latency per delivery = when the caption reached the subscriber's socket (kernel
receive stamp, see :mod:`bench.lib.wsstamp`) - the frame's send time - the recognizer's fixed
latency; the time the load generator's Python code read it is kept too (``read_*``: it
includes the load generator reading every other subscriber first). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from typing import Any

from bench.lib.engines import FRAME_BYTES, trigger_frame
from bench.lib.loadgen import HOST, AudioSource, paced
from bench.lib.procstat import CpuWindow, loadavg, summary_ms, tree_rss_mb
from bench.lib.wsstamp import StampedSubscriber, connect_stamped

FRAME_S = 0.1
SILENCE = bytes(FRAME_BYTES)
FINAL_ID = re.compile(rb'"type":"final".*?"text":"m(\d+)"')


async def pipeline(args: argparse.Namespace) -> dict[str, Any]:
    """One (rooms, subscribers) cell."""
    received: list[tuple[int, float, float]] = []

    def on_text(payload: bytes, stamp: float, read: float) -> None:
        if m := FINAL_ID.search(payload):
            received.append((int(m.group(1)), stamp, read))

    rooms = [f"r{i}" for i in range(args.rooms)]
    paths = [
        f"/ws/captions/{room}?backlog=0&partials=0" for room in rooms for _ in range(args.subs)
    ]
    t0 = time.monotonic()
    limit = asyncio.Semaphore(64)

    async def subscribe(path: str) -> StampedSubscriber:
        async with limit:
            return await connect_stamped(HOST, args.port, path, on_text)

    subs = await asyncio.gather(*(subscribe(p) for p in paths))
    connect_s = time.monotonic() - t0
    sources = [AudioSource() for _ in rooms]
    for source, room in zip(sources, rooms, strict=True):
        await source.open(args.port, room)
    sent: dict[int, float] = {}
    every = max(1, round(args.period / FRAME_S))
    frames = int((args.warmup + args.seconds) / FRAME_S)
    measured_from = int(args.warmup / FRAME_S)
    start = time.monotonic() + 0.2
    server = CpuWindow(args.server_pid)
    me = CpuWindow(os.getpid())

    async def room_task(index: int, source: AudioSource) -> None:
        def step(k: int) -> None:
            if k == measured_from and index == 0:
                server.start()
                me.start()
            if k % every == 0:
                ident = index * 1_000_000 + k
                wall = time.time()
                source.send(trigger_frame(ident))
                if k >= measured_from:
                    sent[ident] = wall
            else:
                source.send(SILENCE)

        await paced(frames, FRAME_S, start + index * args.period / len(sources), step)

    load0 = loadavg()
    await asyncio.gather(*(room_task(i, s) for i, s in enumerate(sources)))
    server.stop()
    me.stop()
    rss = tree_rss_mb(args.server_pid)
    await asyncio.sleep(args.drain)
    latency_s = args.latency_ms / 1000.0
    lat = [stamp - sent[i] - latency_s for i, stamp, _ in received if i in sent]
    read = [now - sent[i] - latency_s for i, _, now in received if i in sent]
    await asyncio.gather(*(source.finish() for source in sources))
    for sub in subs:
        sub.close()
    expected = len(sent) * args.subs
    return {
        "rooms": args.rooms,
        "subscribers": args.subs,
        "triggers": len(sent),
        "deliveries_expected": expected,
        "deliveries": len(lat),
        "missing": expected - len(lat),
        **summary_ms(lat),
        **{f"read_{k}": v for k, v in summary_ms(read).items() if k != "count"},
        "server_cpu_percent": round(server.percent, 1),
        "loadgen_cpu_percent": round(me.percent, 1),
        "server_rss_mb": round(rss, 1),
        "measured_s": round(server.wall, 2),
        "connect_s": round(connect_s, 2),
        "loadavg": [load0, loadavg()],
    }


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("pipeline")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--server-pid", type=int, required=True)
    p.add_argument("--rooms", type=int, default=1)
    p.add_argument("--subs", type=int, default=10)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--period", type=float, default=0.5)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--drain", type=float, default=1.5)
    args = parser.parse_args()
    result = asyncio.run(pipeline(args))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()

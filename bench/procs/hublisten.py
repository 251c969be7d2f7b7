"""Remote listeners of the hub benchmark: ``python -m bench.procs.hublisten --hubs P1,P2
--rooms a,b --listeners N --published-dir DIR``.

Opens N WebSockets (:mod:`bench.lib.wsraw`, the benchmark's lean client) to
``/ws/captions/{room}?backlog=0`` of the hubs, listener ``k`` on hub ``k % hubs`` and room
``(k // hubs) % rooms`` (so every room is followed through every hub), prints
``CONNECTED <n>`` and notes, for every final each listener receives, the room, the segment and
the monotonic time it was read. On ``STOP <t0>`` from stdin it reads what each room published
(``DIR/<room>.published``: ``<segment> <monotonic time>`` per final, written by the room's
own pipeline trace) and prints one JSON object: the latency from the room's publication to
receipt (a histogram in milliseconds), finals expected (every final published from ``t0``
on, for every listener of its room) and received, missed, duplicates, out-of-order, dropped
connections, this process's CPU, and per final the latency of its first listener here (the
fan-out's start: what comes later is the hub writing to the others and their reading).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import resource
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.lib.loadgen import connect_many
from bench.lib.procstat import CpuWindow
from bench.lib.wsraw import TEXT, OnMessage

FINAL = re.compile(rb'^\{"type":"final","room":"([^"]+)","segment":(\d+)')


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to the hard limit; the new soft limit."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def read_published(path: Path) -> dict[int, float]:
    """A room's publications: segment -> monotonic time."""
    found: dict[int, float] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            segment, _, at = line.partition(" ")
            if at:
                found.setdefault(int(segment), float(at))
    return found


class Listener:
    """What one listener received: (segment, time) in order of arrival."""

    def __init__(self, room: str) -> None:
        self.room = room
        self.got: list[tuple[int, float]] = []

    def on_message(self, opcode: int, payload: bytes, now: float) -> None:
        """Note a final (everything else, status or pong, is ignored)."""
        if opcode == TEXT and (match := FINAL.match(payload)):
            if match.group(1).decode() != self.room:
                raise AssertionError(f"a final of {match.group(1)!r} on {self.room}'s socket")
            self.got.append((int(match.group(2)), now))


def tally(
    listeners: list[Listener], published: dict[str, dict[int, float]], t0: float
) -> dict[str, Any]:
    """Latency histogram and counts against what the rooms published from ``t0`` on."""
    histogram: Counter[int] = Counter()
    first: dict[str, float] = {}
    expected = received = missed = duplicates = out_of_order = 0
    worst = 0.0
    for listener in listeners:
        times = published[listener.room]
        due = {s for s, at in times.items() if at >= t0}
        segments = [s for s, _ in listener.got]
        out_of_order += sum(1 for a, b in itertools.pairwise(segments) if b <= a)
        duplicates += len(segments) - len(set(segments))
        expected += len(due)
        seen = set(segments) & due
        received += len(seen)
        missed += len(due - seen)
        for segment, at in listener.got:
            if segment in due:
                lag = at - times[segment]
                worst = max(worst, lag)
                histogram[max(0, int(lag * 1000))] += 1
                key = f"{listener.room}:{segment}"
                first[key] = min(first.get(key, lag), lag)
    return {
        "expected": expected,
        "received": received,
        "missed": missed,
        "duplicates": duplicates,
        "out_of_order": out_of_order,
        "latency_hist_ms": {str(k): v for k, v in sorted(histogram.items())},
        "latency_max_ms": round(worst * 1000, 2),
        "first_ms": {k: round(v * 1000, 2) for k, v in first.items()},
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Connect, report, wait for STOP, tally."""
    raise_fd_limit()
    ports = [int(p) for p in args.hubs.split(",")]
    rooms = args.rooms.split(",")
    listeners: list[Listener] = []
    plan: list[tuple[int, str]] = []
    for k in range(args.first, args.first + args.listeners):
        port, room = ports[k % len(ports)], rooms[(k // len(ports)) % len(rooms)]
        listeners.append(Listener(room))
        plan.append((port, f"/ws/captions/{room}?backlog=0"))

    def handlers(indexes: list[int]) -> Callable[[int], OnMessage]:
        return lambda j: listeners[indexes[j]].on_message

    sockets = []
    for port in sorted(set(ports)):
        indexes = [i for i, (p, _) in enumerate(plan) if p == port]
        paths = [plan[i][1] for i in indexes]
        sockets.extend(await connect_many(port, paths, handlers(indexes), parallel=args.parallel))
    print(f"CONNECTED {len(sockets)}", flush=True)
    me = CpuWindow(os.getpid()).start()
    loop = asyncio.get_running_loop()
    line = await loop.run_in_executor(None, sys.stdin.readline)
    me.stop()
    t0 = float(line.split()[1])
    dropped = [ws for ws in sockets if ws.closed.done()]
    codes = sorted({ws.close_code or 1006 for ws in dropped})
    for ws in sockets:
        ws.close()
    published = {room: read_published(Path(args.published_dir) / f"{room}.published")
                 for room in rooms}  # fmt: skip
    result = tally(listeners, published, t0)
    result |= {
        "listeners": len(sockets),
        "dropped": len(dropped),
        "drop_codes": codes,
        "cpu_s": round(me.cpu, 2),
        "wall_s": round(me.wall, 2),
    }
    return result


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hubs", required=True, help="the hubs' ports, comma-separated")
    parser.add_argument("--rooms", required=True, help="room names, comma-separated")
    parser.add_argument("--listeners", type=int, required=True)
    parser.add_argument("--first", type=int, default=0, help="index of the first listener")
    parser.add_argument("--published-dir", required=True)
    parser.add_argument("--parallel", type=int, default=32, help="connections opened at a time")
    args = parser.parse_args()
    sys.stdout.write(json.dumps(asyncio.run(run(args))) + "\n")


if __name__ == "__main__":
    main()

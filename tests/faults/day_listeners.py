"""``python -m tests.faults.day_listeners WS_BASE``: a conference day's audience of one room, as
one process (run beside the server, inside its network namespace).

``--stayers`` subscribers follow the captions all day; when the link goes (a server restart)
they redial with a backlog and skip what they already have, as the kiosk does. Each records
the segment ids of the finals it got, in the order it got them, and counts a final that came
twice live (not as backlog) as a repeat. ``--churners`` subscribers leave and come back every
1-4 s all day. On SIGTERM it prints one JSON line ``{"stayers": [...], "churners": {...}}``:
per stayer its segments as ``[first, last]`` runs, whether they were in order, its repeats and
how often it redialed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import sys
from dataclasses import dataclass, field
from typing import Any

import aiohttp

BACKLOG = 500
"""What a stayer asks for when it redials (the server's default ``backlog_max``)."""


@dataclass
class Stayer:
    """One subscriber that stays all day."""

    segments: list[int] = field(default_factory=list)
    repeats: int = 0
    redials: int = 0
    in_order: bool = True

    def got(self, message: dict[str, Any]) -> None:
        segment = int(message["segment"])
        if self.segments and segment <= self.segments[-1]:
            if not message.get("backlog"):
                self.repeats += 1
            return
        self.segments.append(segment)

    def summary(self) -> dict[str, Any]:
        runs: list[list[int]] = []
        for segment in self.segments:
            if runs and segment == runs[-1][1] + 1:
                runs[-1][1] = segment
            else:
                runs.append([segment, segment])
        return {
            "runs": runs,
            "count": len(self.segments),
            "in_order": self.segments == sorted(self.segments),
            "repeats": self.repeats,
            "redials": self.redials,
        }


@dataclass
class Churn:
    """What the churners did, together."""

    visits: int = 0
    finals: int = 0
    refused: int = 0


async def stay(http: aiohttp.ClientSession, url: str, me: Stayer, stop: asyncio.Event) -> None:
    query = "backlog=0&partials=0"
    while not stop.is_set():
        try:
            async with http.ws_connect(f"{url}?{query}", heartbeat=5.0) as ws:
                query = f"backlog={BACKLOG}&partials=0"
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    data = json.loads(msg.data)
                    if data.get("type") == "final":
                        me.got(data)
        except (aiohttp.ClientError, OSError, TimeoutError):
            pass
        if not stop.is_set():
            me.redials += 1
            await asyncio.sleep(0.5)


async def churn(http: aiohttp.ClientSession, url: str, tally: Churn, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            async with http.ws_connect(f"{url}?backlog=5&partials=1") as ws:
                tally.visits += 1
                leave_at = asyncio.get_running_loop().time() + random.uniform(1.0, 4.0)
                while not stop.is_set():
                    left = leave_at - asyncio.get_running_loop().time()
                    if left <= 0:
                        break
                    try:
                        msg = await ws.receive(timeout=left)
                    except TimeoutError:
                        break
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    if json.loads(msg.data).get("type") == "final":
                        tally.finals += 1
        except (aiohttp.ClientError, OSError, TimeoutError):
            tally.refused += 1
            await asyncio.sleep(0.5)


async def run(url: str, stayers: int, churners: int) -> dict[str, Any]:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    people = [Stayer() for _ in range(stayers)]
    tally = Churn()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        tasks = [asyncio.create_task(stay(http, url, p, stop)) for p in people]
        tasks += [asyncio.create_task(churn(http, url, tally, stop)) for _ in range(churners)]
        print(json.dumps({"started": stayers + churners}), flush=True)
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "stayers": [p.summary() for p in people],
        "churners": {"visits": tally.visits, "finals": tally.finals, "refused": tally.refused},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="day_listeners")
    parser.add_argument("url", help="ws://host:port/ws/captions/ROOM")
    parser.add_argument("--stayers", type=int, default=30)
    parser.add_argument("--churners", type=int, default=20)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(run(args.url, args.stayers, args.churners))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

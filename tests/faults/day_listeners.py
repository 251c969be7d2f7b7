"""``python -m tests.faults.day_listeners WS_BASE``: a conference day's audience of one room, as
one process (run beside the server, inside its network namespace).

``--stayers`` subscribers follow the captions all day; when the link goes (a server restart)
they redial with a backlog and skip what they already have, as the kiosk does. Each records
the segment ids of the finals it got, in the order it got them, and counts a final that came
twice live (not as backlog) as a repeat. ``--churners`` subscribers leave and come back every
1-4 s all day. ``--speakers`` phones follow ``--speech-lang`` with sound on, and note who
spoke each sentence they heard. On SIGTERM it prints one JSON line ``{"stayers": [...],
"churners": {...}, "speakers": [...]}``: per stayer its segments as ``[first, last]`` runs, its
repeats (a live final not newer than the last one it had) and how often it redialed; per
speaker its sentences as runs of one voice engine ``[engine, first, last, sentences, failed,
audio bytes]`` and its repeats (a sentence heard twice).
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
            "repeats": self.repeats,
            "redials": self.redials,
        }


@dataclass
class Speaker:
    """One phone with sound on: which engine spoke each sentence it heard."""

    runs: list[list[Any]] = field(default_factory=list)
    """``[engine, first segment, last segment, sentences, failed, audio bytes]``."""
    last_segment: int = 0
    repeats: int = 0
    pending_bytes: int = 0

    def heard(self, end: dict[str, Any]) -> None:
        segment, engine = int(end["segment"]), str(end["voice"]["engine"])
        if segment <= self.last_segment:
            self.repeats += 1
            return
        self.last_segment = segment
        if not self.runs or self.runs[-1][0] != engine:
            self.runs.append([engine, segment, segment, 0, 0, 0])
        run = self.runs[-1]
        run[2] = segment
        run[3] += 1
        run[4] += 0 if end.get("ok") else 1
        run[5] += self.pending_bytes
        self.pending_bytes = 0


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


async def speak(
    http: aiohttp.ClientSession, url: str, lang: str, me: Speaker, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        try:
            query = f"backlog=0&partials=0&lang={lang}&audio=1"
            async with http.ws_connect(f"{url}?{query}", heartbeat=5.0) as ws:
                async for msg in ws:
                    if msg.type == aiohttp.WSMsgType.BINARY:
                        me.pending_bytes += len(msg.data)
                    elif msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    elif (data := json.loads(msg.data)).get("type") == "speech_end":
                        me.heard(data)
        except (aiohttp.ClientError, OSError, TimeoutError):
            pass
        if not stop.is_set():
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


async def run(url: str, stayers: int, churners: int, speakers: int, lang: str) -> dict[str, Any]:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    people = [Stayer() for _ in range(stayers)]
    tally = Churn()
    phones = [Speaker() for _ in range(speakers)]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        tasks = [asyncio.create_task(stay(http, url, p, stop)) for p in people]
        tasks += [asyncio.create_task(churn(http, url, tally, stop)) for _ in range(churners)]
        tasks += [asyncio.create_task(speak(http, url, lang, p, stop)) for p in phones]
        print(json.dumps({"started": stayers + churners + speakers}), flush=True)
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "stayers": [p.summary() for p in people],
        "churners": {"visits": tally.visits, "finals": tally.finals, "refused": tally.refused},
        "speakers": [{"runs": p.runs, "repeats": p.repeats} for p in phones],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="day_listeners")
    parser.add_argument("url", help="ws://host:port/ws/captions/ROOM")
    parser.add_argument("--stayers", type=int, default=30)
    parser.add_argument("--churners", type=int, default=20)
    parser.add_argument("--speakers", type=int, default=0)
    parser.add_argument("--speech-lang", default="it")
    args = parser.parse_args(argv)
    summary = run(args.url, args.stayers, args.churners, args.speakers, args.speech_lang)
    print(json.dumps(asyncio.run(summary)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where a caption's time goes inside the server: ``python -m bench.stages [--subs 100]``.

Runs the server in this process with stage stamps patched around the room's steps (the audio
frame handed to the session, the transcript write with its fsync, publishing to the queues,
the first and the last subscriber's WebSocket write), drives it with the pipeline load
generator (another process: one room), and reports the median and max of each step.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bench.engines import MAGIC, FixedLatencyRecognizer
from bench.procs import run_json
from bench.serve import build_settings
from edge_server import audio_session, fanout, transcript
from edge_server.app import create_app

STAGES = ("frame_in", "write_start", "write_done", "published", "first_sent", "last_sent")
CAPTION = re.compile(r'"text":"m(\d+)"')


def _patch(stamps: dict[int, dict[str, float]]) -> Callable[[], None]:
    """Patch the stage stamps in; returns the function that takes them out again."""

    def mark(ident: int, stage: str, last: bool = False) -> None:
        entry = stamps.setdefault(ident, {})
        if last or stage not in entry:
            entry[stage] = time.monotonic()

    feed, append = audio_session.AudioSession.feed, transcript.TranscriptStore.append
    publish, run = fanout.Broadcaster.publish, fanout.Subscriber._run
    try_write = fanout.DirectWriter.try_write

    async def feed_(self: Any, pcm: bytes) -> None:
        if len(pcm) >= 6 and struct.unpack_from("<H", pcm)[0] == MAGIC:
            low, high = struct.unpack_from("<HH", pcm, 2)
            mark(low | high << 16, "frame_in")
        await feed(self, pcm)

    async def append_(self: Any, record: dict[str, Any]) -> None:
        ident = int(record["text"][1:])
        mark(ident, "write_start")
        await append(self, record)
        mark(ident, "write_done")

    def publish_(self: Any, text: str, **kwargs: Any) -> int:
        if m := CAPTION.search(text):
            mark(int(m.group(1)), "published")  # fan-out starts (direct writes happen inside)
        return int(publish(self, text, **kwargs))

    async def run_(self: Any) -> None:
        send = self._send

        async def sent(text: str) -> None:
            await send(text)
            if m := CAPTION.search(text):
                mark(int(m.group(1)), "first_sent")
                mark(int(m.group(1)), "last_sent", last=True)

        self._send = sent
        await run(self)

    def try_write_(self: Any, frame: bytes) -> bool:
        written = try_write(self, frame)
        if written and (m := CAPTION.search(frame.decode(errors="replace"))):
            mark(int(m.group(1)), "first_sent")
            mark(int(m.group(1)), "last_sent", last=True)
        return written

    audio_session.AudioSession.feed = feed_  # type: ignore[method-assign]
    fanout.DirectWriter.try_write = try_write_  # type: ignore[method-assign]
    transcript.TranscriptStore.append = append_  # type: ignore[method-assign]
    fanout.Broadcaster.publish = publish_  # type: ignore[method-assign]
    fanout.Subscriber._run = run_  # type: ignore[method-assign]

    def undo() -> None:
        audio_session.AudioSession.feed = feed  # type: ignore[method-assign]
        transcript.TranscriptStore.append = append  # type: ignore[method-assign]
        fanout.Broadcaster.publish = publish  # type: ignore[method-assign]
        fanout.Subscriber._run = run  # type: ignore[method-assign]
        fanout.DirectWriter.try_write = try_write  # type: ignore[method-assign]

    return undo


async def measure(subs: int = 100, seconds: float = 8.0) -> dict[str, Any]:
    """One room, ``subs`` subscribers, fsync on: median and max of each step in ms."""
    stamps: dict[int, dict[str, float]] = {}
    undo = _patch(stamps)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-stages-") as state:
            options = argparse.Namespace(
                state=state, fsync=True, engine="pocketsphinx", speech=False, subscriber_queue=0
            )
            app = create_app(build_settings(options), lambda *_: FixedLatencyRecognizer(0.0))
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            load = [
                "-m", "bench.load", "pipeline", "--port", str(port), "--server-pid",
                str(os.getpid()), "--rooms", "1", "--subs", str(subs), "--seconds", str(seconds),
            ]  # fmt: skip
            end_to_end = await run_json(load, limit_s=seconds + 120)
            await runner.cleanup()
    finally:
        undo()
    steps = {}
    for start, end in itertools.pairwise(STAGES):
        values = [(s[end] - s[start]) * 1000 for s in stamps.values() if start in s and end in s]
        if values:
            steps[f"{start}->{end}"] = {
                "p50_ms": round(statistics.median(values), 3),
                "max_ms": round(max(values), 3),
            }
    return {"subscribers": subs, "steps": steps, "end_to_end": end_to_end}


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subs", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    sys.stdout.write(json.dumps(asyncio.run(measure(args.subs, args.seconds)), indent=1) + "\n")


if __name__ == "__main__":
    main()

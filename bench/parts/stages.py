"""Where a caption's time goes inside the server: ``python -m bench.parts.stages [--subs 100]``.

Runs the server in this process with a pipeline trace (the product's hook,
:mod:`edge_server.core.trace`) that stamps the room's steps (the audio frame handed to the
session, the transcript write with its fsync, publishing to the queues, the first and the last
subscriber's WebSocket write), drives it with the pipeline load
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
from typing import Any

from aiohttp import web

from bench.lib.engines import MAGIC, FixedLatencyRecognizer
from bench.lib.spawn import run_json
from bench.procs.serve import build_settings
from edge_server.core.trace import Stage
from edge_server.web.app import create_app

STAGES = ("frame_in", "write_start", "write_done", "published", "first_sent", "last_sent")
CAPTION = re.compile(r'"text":"m(\d+)"')


class StageStamps:
    """A pipeline trace (:mod:`edge_server.core.trace`) that stamps each caption's steps."""

    def __init__(self) -> None:
        self.stamps: dict[int, dict[str, float]] = {}

    def _mark(self, ident: int, stage: str, last: bool = False) -> None:
        entry = self.stamps.setdefault(ident, {})
        if last or stage not in entry:
            entry[stage] = time.monotonic()

    def __call__(self, stage: Stage, item: object) -> None:
        """Stamp ``stage`` for the caption that ``item`` carries, if any."""
        if stage is Stage.FRAME_IN:
            pcm = item if isinstance(item, bytes) else b""
            if len(pcm) >= 6 and struct.unpack_from("<H", pcm)[0] == MAGIC:
                low, high = struct.unpack_from("<HH", pcm, 2)
                self._mark(low | high << 16, "frame_in")
        elif stage in (Stage.WRITE_START, Stage.WRITE_DONE) and isinstance(item, dict):
            self._mark(int(item["text"][1:]), stage.value)
        elif isinstance(item, str) and (m := CAPTION.search(item)):
            ident = int(m.group(1))
            if stage is Stage.PUBLISHED:
                self._mark(ident, "published")  # fan-out starts (direct writes happen inside)
            elif stage is Stage.SENT:
                self._mark(ident, "first_sent")
                self._mark(ident, "last_sent", last=True)


async def measure(subs: int = 100, seconds: float = 8.0) -> dict[str, Any]:
    """One room, ``subs`` subscribers, fsync on: median and max of each step in ms."""
    trace = StageStamps()
    with tempfile.TemporaryDirectory(prefix="bench-stages-") as state:
        options = argparse.Namespace(
            state=state, fsync=True, engine="pocketsphinx", speech=False, subscriber_queue=0
        )
        app = create_app(
            build_settings(options), lambda *_: FixedLatencyRecognizer(0.0), trace=trace
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        load = [
            "-m", "bench.procs.load", "pipeline", "--port", str(port), "--server-pid",
            str(os.getpid()), "--rooms", "1", "--subs", str(subs), "--seconds", str(seconds),
        ]  # fmt: skip
        end_to_end = await run_json(load, limit_s=seconds + 120)
        await runner.cleanup()
    stamps = trace.stamps
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

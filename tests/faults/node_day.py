"""``python -m tests.faults.node_day``: the real audio node (:class:`edge_audio.node.AudioNode`:
outage buffer, reconnecting uplink, resend, clean stop on SIGTERM) speaking a whole
:mod:`conference day <tests.faults.day_plan>` at ``--speed`` times real time, in place of a
sound card.

The capture source yields the day's 0.5 s slots (16 kHz mono float32, the scripted-engine
encoding: every sample of a word's slot is ``n``), paced by the wall clock at ``--speed``; if
the machine falls behind, it catches up. What it prints on stdout, one JSON object a line:

- ``{"audio_s": t, "word": n, "at": wall}`` every ``--report-s`` seconds of the day: ``n`` is
  the last word captured so far (0 before the first);
- ``{"day_over": true, "words": n, "audio_s": t, "at": wall}`` once the day's audio is all
  captured (then the source goes on with silence, in real time, until the node is stopped);
- on SIGTERM, after the node stopped as under systemd:
  ``{"stopped": code, "link": {...}, "buffer_dropped_bytes": b}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from edge_audio.node import AudioNode
from edge_audio.settings import NodeSettings
from edge_server.contract.systemd_notify import Notifier
from tests.faults.day_plan import SLOT_S, DayPlan, conference_day

RATE = 16000
SLOT_SAMPLES = int(RATE * SLOT_S)
AFTER_DAY_SPEED = 1.0
"""Silence after the day is paced in real time (nothing more to hurry)."""


class DaySource:
    """A capture source speaking ``plan`` at ``speed`` times real time (one block a slot)."""

    sample_rate = RATE
    channels = 1
    label = "scripted:conference-day"

    def __init__(self, plan: DayPlan, speed: float, report_s: float) -> None:
        self.plan = plan
        self.speed = speed
        self.report_every = max(1, round(report_s / SLOT_S))
        self.last_word = 0

    def _report(self, slot: int, **extra: Any) -> None:
        line = {"audio_s": slot * SLOT_S, "word": self.last_word, "at": time.time(), **extra}
        print(json.dumps(line), flush=True)

    async def __aiter__(self) -> AsyncIterator[np.ndarray]:
        start = time.monotonic()
        silence = np.zeros((SLOT_SAMPLES, 1), dtype=np.float32)
        for slot in range(self.plan.slots):
            if slot % self.report_every == 0:
                self._report(slot)
            word = self.plan.word_of_slot(slot)
            delay = start + slot * SLOT_S / self.speed - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if word:
                self.last_word = word
                yield np.full((SLOT_SAMPLES, 1), word / 32768.0, dtype=np.float32)
            else:
                yield silence
        self._report(self.plan.slots, day_over=True, words=self.last_word)
        while True:
            await asyncio.sleep(SLOT_S / AFTER_DAY_SPEED)
            yield silence

    async def aclose(self) -> None:
        pass


async def run(settings: NodeSettings, source: DaySource) -> int:
    opened = False

    async def open_source() -> DaySource:
        nonlocal opened
        if opened:  # a second open would restart the day: never expected here
            raise RuntimeError("the day's source was reopened")
        opened = True
        return source

    node = AudioNode(settings, open_source=open_source, notifier=Notifier({}))
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, node.stop)
    loop.add_signal_handler(signal.SIGINT, node.stop)
    code = await node.run()
    stats = node.link.stats
    link = {
        "connects": stats.connects,
        "gaps": stats.gaps,
        "state": stats.state,
        "resent_s": stats.resent_s,
    }
    print(
        json.dumps(
            {
                "stopped": code,
                "link": link,
                "buffer_dropped_bytes": node.buffer.dropped_bytes,
            }
        ),
        flush=True,
    )
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="node_day")
    parser.add_argument("--server", required=True)
    parser.add_argument("--room", default="main")
    parser.add_argument("--day-s", type=float, required=True, help="the day's length (audio)")
    parser.add_argument("--speed", type=float, default=30.0)
    parser.add_argument("--report-s", type=float, default=5.0)
    parser.add_argument("--ping-interval", type=float, default=1.0)
    parser.add_argument("--ping-timeout", type=float, default=2.0)
    parser.add_argument("--buffer-seconds", type=float, default=600.0)
    parser.add_argument("--resend-seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = NodeSettings(
        server=args.server,
        room=args.room,
        language="en-US",
        ping_interval_s=args.ping_interval,
        ping_timeout_s=args.ping_timeout,
        buffer_seconds=args.buffer_seconds,
        resend_seconds=args.resend_seconds,
    )
    source = DaySource(conference_day(args.day_s), args.speed, args.report_s)
    return asyncio.run(run(settings, source))


if __name__ == "__main__":
    sys.exit(main())

"""``python -m tests.faults.node_scripted``: the real audio node
(:class:`edge_audio.node.AudioNode`: buffer, reconnecting uplink, ``gap`` reports, clean stop
on SIGTERM) with a scripted capture source in place of a sound card, so that every word it
sends is known.

The source produces 16 kHz mono in real time, in 0.5 s slots: four words then a pause, words
numbered 1, 2, 3... (the :mod:`tests.helpers.scripted_engine` encoding: a slot whose samples
all equal ``n`` is ``w<n>``). Each slot is printed as a JSON line ``{"slot": s, "word": n,
"at": t}`` (``word`` 0 for a pause, ``at`` the wall clock), so a test knows what was said and
when.
On SIGTERM the node stops as under systemd and prints ``{"stopped": code, "link": {...}}``.
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

import numpy as np

from edge_audio.node import AudioNode
from edge_audio.settings import NodeSettings
from edge_server.contract.systemd_notify import Notifier

SLOT_S = 0.5
BLOCK_S = 0.1
WORDS_PER_SENTENCE = 4


def word_of_slot(slot: int) -> int:
    """The word number spoken in 0.5 s slot ``slot`` (0: a pause)."""
    sentence, place = divmod(slot, WORDS_PER_SENTENCE + 1)
    if place == WORDS_PER_SENTENCE:
        return 0
    return sentence * WORDS_PER_SENTENCE + place + 1


class WordSource:
    """A capture source speaking numbered words in real time (100 ms blocks, float32)."""

    sample_rate = 16000
    channels = 1
    label = "scripted:words"

    def __init__(self) -> None:
        self.slot = 0

    async def __aiter__(self) -> AsyncIterator[np.ndarray]:
        start = time.monotonic()
        block = 0
        per_slot = round(SLOT_S / BLOCK_S)
        while True:
            slot, index = divmod(block, per_slot)
            word = word_of_slot(slot)
            if index == 0:
                self.slot = slot
                print(json.dumps({"slot": slot, "word": word, "at": time.time()}), flush=True)
            samples = np.full((1600, 1), word / 32768.0, dtype=np.float32)
            block += 1
            delay = start + block * BLOCK_S - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            yield samples

    async def aclose(self) -> None:
        pass


async def run(settings: NodeSettings) -> int:
    source = WordSource()
    opened = False

    async def open_source() -> WordSource:
        nonlocal opened
        if opened:  # a second open would restart the words: never expected here
            raise RuntimeError("the scripted source was reopened")
        opened = True
        return source

    node = AudioNode(settings, open_source=open_source, notifier=Notifier({}))
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, node.stop)
    loop.add_signal_handler(signal.SIGINT, node.stop)
    code = await node.run()
    stats = node.link.stats
    print(
        json.dumps(
            {
                "stopped": code,
                "link": {
                    "connects": stats.connects,
                    "gaps": stats.gaps,
                    "state": stats.state,
                    "resent_s": stats.resent_s,
                },
                "buffer_dropped_bytes": node.buffer.dropped_bytes,
            }
        ),
        flush=True,
    )
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="node_scripted")
    parser.add_argument("--server", required=True)
    parser.add_argument("--room", default="main")
    parser.add_argument("--ping-interval", type=float, default=5.0)
    parser.add_argument("--ping-timeout", type=float, default=10.0)
    parser.add_argument("--buffer-seconds", type=float, default=60.0)
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
    return asyncio.run(run(settings))


if __name__ == "__main__":
    sys.exit(main())

"""Load generator for listeners with speech: ``python -m bench.procs.loadlisten --listeners N ...``.

One room whose source sends a trigger frame every ``period`` seconds (the fixed-latency
recognizer finalizes ``m<id>``; the echo translator makes ``[it] m<id>``; the fixed synthesizer
speaks it). N listeners follow Italian with sound (``?lang=it&audio=1``). For each listener and
sentence: when the final's text arrived and when its ``speech_end`` did, both from the trigger
frame's send time, and the PCM bytes received. Prints one JSON object.
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

from bench.lib.engines import FRAME_BYTES, caption_id, trigger_frame
from bench.lib.loadgen import AudioSource, close_all, connect_many, paced
from bench.lib.procstat import CpuWindow, loadavg, summary_ms, tree_rss_mb
from bench.lib.wsraw import BINARY, TEXT, OnMessage

SILENCE = bytes(FRAME_BYTES)
KIND = re.compile(rb'"type":"(final|speech_end)"')


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """N listeners for ``seconds``; text and speech lag, drops, server CPU."""
    sent: dict[int, float] = {}
    segment_id: dict[int, int] = {}
    text_lag: list[float] = []
    speech_lag: list[tuple[float, float]] = []  # (send time, lag)
    pcm_bytes = [0] * args.listeners

    def handler(index: int) -> OnMessage:
        def on_message(opcode: int, payload: bytes, now: float) -> None:
            if opcode == BINARY:
                pcm_bytes[index] += len(payload)
                return
            if opcode != TEXT or not (m := KIND.search(payload)):
                return
            msg = json.loads(payload)
            if m.group(1) == b"final":
                ident = caption_id(msg.get("text", ""))
                if ident is None:
                    return
                segment_id[msg["segment"]] = ident
                if ident in sent:
                    text_lag.append(now - sent[ident])
            else:
                ident = segment_id.get(msg["segment"], -1)
                if ident in sent and msg.get("ok"):
                    speech_lag.append((sent[ident], now - sent[ident]))

        return on_message

    path = "/ws/captions/main?backlog=0&partials=0&lang=it&audio=1"
    listeners = await connect_many(args.port, [path] * args.listeners, handler)
    source = AudioSource()
    await source.open(args.port, "main")
    every = max(1, round(args.period / 0.1))
    frames = int((args.warmup + args.seconds) / 0.1)
    measured_from = int(args.warmup / 0.1)
    window = CpuWindow(args.server_pid)
    me = CpuWindow(os.getpid())

    def step(k: int) -> None:
        if k == measured_from:
            window.start()
            me.start()
        if k % every == 0:
            at = source.send(trigger_frame(k + 1))
            if k >= measured_from:
                sent[k + 1] = at
        else:
            source.send(SILENCE)

    load0 = loadavg()
    await paced(frames, 0.1, time.monotonic() + 0.1, step)
    window.stop()
    me.stop()
    rss = tree_rss_mb(args.server_pid)
    await asyncio.sleep(args.drain)
    dropped = [i for i, ws in enumerate(listeners) if ws.closed.done()]
    codes = sorted({listeners[i].close_code or 1006 for i in dropped})
    await source.finish()
    close_all(listeners)
    expected = len(sent) * args.listeners
    lags = [lag for _, lag in sorted(speech_lag)]
    third = max(1, len(lags) // 3)
    growth = (sum(lags[-third:]) / third - sum(lags[:third]) / third) if len(lags) >= 3 else 0.0
    return {
        "listeners": args.listeners,
        "sentences": len(sent),
        "speech_s_per_sentence": args.speech_s,
        "text": summary_ms(text_lag),
        "speech_end": summary_ms(lags),
        "speech_lag_growth_ms": round(growth * 1000, 1),
        "sentences_expected": expected,
        "sentences_spoken": len(lags),
        "pcm_mb_received": round(sum(pcm_bytes) / 1e6, 1),
        "dropped": len(dropped),
        "drop_codes": codes,
        "server_cpu_percent": round(window.percent, 1),
        "loadgen_cpu_percent": round(me.percent, 1),
        "server_rss_mb": round(rss, 1),
        "measured_s": round(window.wall, 2),
        "loadavg": [load0, loadavg()],
    }


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--listeners", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--period", type=float, default=2.0)
    parser.add_argument("--speech-s", type=float, default=2.0)
    parser.add_argument("--drain", type=float, default=3.0)
    args = parser.parse_args()
    sys.stdout.write(json.dumps(asyncio.run(run(args))) + "\n")


if __name__ == "__main__":
    main()

"""Load generator for real speech and for the cloud comparison: ``python -m bench.procs.loadcloud``.

``speech``: K rooms, one kiosk subscriber each; every room's source streams the LibriVox
recordings (looped, 0.5 s of silence between files) in real time in 100 ms frames; the server
tree's CPU (with its recognizer workers) and memory are read over the streamed period.

``words``: one room, S subscribers (and optionally one that never reads, with a 4 KiB receive
buffer); the source sends frames the Transcribe fake hears as words (first sample = the word's
number) in cycles of 8 words and 2 silent frames, ``speed`` times real time. A partial is timed
from the frame of its last word, a final from the silent frame after it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import struct
import sys
import time
from pathlib import Path
from typing import Any

from bench.lib.loadgen import AudioSource, close_all, connect_many, paced
from bench.lib.procstat import CpuWindow, loadavg, rss_mb, summary_ms, tree_pss_mb, tree_rss_mb
from bench.lib.wsraw import TEXT, OnMessage, connect

FRAME_BYTES = 3200
ROOT = Path(__file__).resolve().parents[2]
SPEECH_DIR = Path(os.environ.get("LIBRIVOX_DIR", ROOT / ".cache" / "speech" / "librivox"))


def speech_pcm() -> bytes:
    """The LibriVox recordings as one 16 kHz s16le buffer, 0.5 s of silence after each."""
    import soundfile

    out = bytearray()
    for name in (SPEECH_DIR / "fileids").read_text().split():
        data, rate = soundfile.read(SPEECH_DIR / f"{name}.wav", dtype="int16")
        if rate != 16000 or data.ndim != 1:
            raise ValueError(f"{name}: the recordings are 16 kHz mono")
        out += data.tobytes() + bytes(16000)
    out += bytes(-len(out) % FRAME_BYTES)
    return bytes(out)


async def speech(args: argparse.Namespace) -> dict[str, Any]:
    """Real speech into K rooms; CPU per audio second and memory of the server tree."""
    pcm = speech_pcm()
    rooms = [f"s{i}" for i in range(args.rooms)]
    finals = [0]

    def handler(index: int) -> OnMessage:
        def on_message(opcode: int, payload: bytes, now: float) -> None:
            if opcode == TEXT and payload.startswith(b'{"type":"final"'):
                finals[0] += 1

        return on_message

    subs = await connect_many(args.port, [f"/ws/captions/{r}?backlog=0" for r in rooms], handler)
    sources = [AudioSource() for _ in rooms]
    for source, room in zip(sources, rooms, strict=True):
        await source.open(args.port, room)
    frames = int((args.warmup + args.seconds) / 0.1)
    measured_from = int(args.warmup / 0.1)
    window = CpuWindow(args.server_pid)
    rss: list[float] = []
    pss: list[float] = []
    main_rss: list[float] = []

    def step(k: int) -> None:
        if k == measured_from:
            window.start()
        for index, source in enumerate(sources):
            offset = ((k + index * 37) * FRAME_BYTES) % len(pcm)
            source.send(pcm[offset : offset + FRAME_BYTES])
        if k % 10 == 0 and k >= measured_from:
            rss.append(tree_rss_mb(args.server_pid))
            pss.append(tree_pss_mb(args.server_pid))
            main_rss.append(rss_mb(args.server_pid))

    load0 = loadavg()
    await paced(frames, 0.1, time.monotonic() + 0.1, step)
    window.stop()
    await asyncio.gather(*(source.finish() for source in sources))
    close_all(subs)
    audio_s = args.rooms * window.wall
    return {
        "rooms": args.rooms,
        "audio_s": round(audio_s, 1),
        "server_cpu_s": round(window.cpu, 3),
        "server_cpu_percent": round(window.percent, 1),
        "cpu_s_per_room_hour": round(window.cpu / audio_s * 3600, 1),
        "server_rss_mb": round(max(rss), 1) if rss else None,
        "server_pss_mb": round(max(pss), 1) if pss else None,
        "server_main_rss_mb": round(max(main_rss), 1) if main_rss else None,
        "finals": finals[0],
        "loadavg": [load0, loadavg()],
    }


def word_frame(value: int) -> bytes:
    """100 ms the fake hears as ``w<value>`` (0: silence)."""
    if value == 0:
        return bytes(FRAME_BYTES)
    return struct.pack("<h", value) + struct.pack("<h", 8000) * (FRAME_BYTES // 2 - 1)


async def words(args: argparse.Namespace) -> dict[str, Any]:
    """The comparison load: one room, S subscribers, fake-recognizable words."""
    sent: dict[tuple[str, int], float] = {}
    lat: dict[str, list[float]] = {"partial": [], "final": []}
    finals_by_sub = [0] * args.subs

    def handler(index: int) -> OnMessage:
        def on_message(opcode: int, payload: bytes, now: float) -> None:
            if opcode != TEXT:
                return
            msg = json.loads(payload)
            kind, text = msg.get("type"), msg.get("text") or ""
            if kind in lat and text.startswith("w"):
                at = sent.get((kind, int(text.rsplit(" ", 1)[-1][1:])))
                if at is not None:
                    lat[kind].append(now - at)
                    if kind == "final":
                        finals_by_sub[index] += 1

        return on_message

    path = "/ws/captions/main?backlog=0"
    subs = await connect_many(args.port, [path] * args.subs, handler)
    slow = None
    if args.slow:
        slow = await connect(
            "127.0.0.1", args.port, path, lambda *_: None, rcvbuf=4096, maxseg=1400
        )
        assert slow.transport is not None
        slow.transport.pause_reading()
    source = AudioSource()
    await source.open(args.port, "main")
    frame_s = 0.1 / args.speed
    frames = int((args.warmup + args.seconds) / 0.1)
    measured_from = int(args.warmup / 0.1)
    window = CpuWindow(args.server_pid)
    last = [0]
    finals_sent = [0]

    def step(k: int) -> None:
        if k == measured_from:
            window.start()
        if k % 10 < 8:
            last[0] = value = k % 30000 + 1
            at = source.send(word_frame(value))
            if k >= measured_from:
                sent[("partial", value)] = at
        else:
            at = source.send(word_frame(0))
            if k % 10 == 8 and k >= measured_from:
                sent[("final", last[0])] = at
                finals_sent[0] += 1

    load0 = loadavg()
    await paced(frames, frame_s, time.monotonic() + 0.1, step)
    window.stop()
    await asyncio.sleep(args.drain)
    await source.finish()
    close_all(subs)
    slow_code = None
    if slow is not None:
        # Read again: what it missed drains, then the close frame if the server sent one.
        assert slow.transport is not None
        slow.transport.resume_reading()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(slow.closed), 5.0)
        slow_code = slow.close_code if slow.closed.done() else None
        slow.close()
    expected = finals_sent[0] * args.subs
    return {
        "subscribers": args.subs,
        "slow_subscriber": args.slow,
        "speed": args.speed,
        "partial": summary_ms(lat["partial"]),
        "final": summary_ms(lat["final"]),
        "finals_expected": expected,
        "finals_delivered": sum(finals_by_sub),
        "slow_close_code": slow_code,
        "server_cpu_percent": round(window.percent, 1),
        "measured_s": round(window.wall, 2),
        "loadavg": [load0, loadavg()],
    }


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("speech", "words"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--rooms", type=int, default=1)
    parser.add_argument("--subs", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--slow", action="store_true")
    parser.add_argument("--drain", type=float, default=2.0)
    args = parser.parse_args()
    run = speech if args.mode == "speech" else words
    sys.stdout.write(json.dumps(asyncio.run(run(args))) + "\n")


if __name__ == "__main__":
    main()

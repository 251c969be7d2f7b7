"""Voice to screen: real speech in, the moment each word shows on a real kiosk page out.

The server under test (:mod:`bench.procs.serve`, product settings, the embedded pocketsphinx
engine) in its own process; the kiosk page in Debian's Chromium (:mod:`bench.lib.kioskwatch`,
headless), which records with ``Date.now()`` every change of a partial or final line; the
LibriVox recordings, with word timings from a forced alignment (:mod:`bench.lib.speechref`),
sent in real time through the audio uplink in 100 ms frames, each stamped with ``time.time()``
when it leaves (the same wall clock as the page's). :mod:`bench.lib.wordtiming` matches the
recognized words to the reference and gives the latencies. A plain WebSocket subscriber in this
process stamps the same caption messages as they arrive, so the server's share and the page's
share of the delay can be told apart.

Run twice: at full speed, and at the Pi budget (the server and its recognizer worker under
:class:`~bench.lib.cpuquota.CpuQuota` of 20 % of one core; Chromium is not: the display is
another device).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from typing import Any

from bench.lib import speechref
from bench.lib.cpuquota import CpuQuota, budget_use, problem
from bench.lib.kioskwatch import kiosk
from bench.lib.loadgen import HOST, AudioSource
from bench.lib.procstat import CpuWindow, descendants, loadavg, summary_s
from bench.lib.spawn import server_process
from bench.lib.wordtiming import RefWord, Shown, latencies
from bench.lib.wsraw import BINARY, TEXT, OnMessage, connect
from bench.parts import pi_budget
from edge_audio.pcm.framing import DEFAULT_FRAME_MS
from tests.helpers.browser import CHROMIUM

ROOM = "voice"
FRAME_S = DEFAULT_FRAME_MS / 1000
FRAME_BYTES = int(FRAME_S * speechref.RATE) * 2
PI_BUDGET = pi_budget.QUOTA
"""One Raspberry Pi 4 core as a share of one core here (bench/parts/pi_budget.py)."""
LEAD_S = 1.0
"""Silence sent before the speech (the uplink and the recognizer settle)."""
TAIL_S = 3.0
"""Silence after the speech before waiting for the screen to settle (the last pause)."""
TARGET_PARTIAL_S = 0.5
TARGET_FINAL_S = 1.0
QUICK_FILES = 2


async def _send(source: AudioSource, pcm: bytes, sent_at: list[float], more: asyncio.Event) -> None:
    """Send ``pcm`` paced as a live node does (frame ``k`` leaves once its last sample has
    been spoken, at ``start + (k + 1) * FRAME_S``), then silence until ``more`` is cleared."""
    assert source.ws is not None
    start = time.monotonic()
    silence = bytes(FRAME_BYTES)
    k = 0
    while k * FRAME_BYTES < len(pcm) or more.is_set():
        delay = start + (k + 1) * FRAME_S - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        chunk = pcm[k * FRAME_BYTES : (k + 1) * FRAME_BYTES] or silence
        sent_at.append(time.time())
        source.ws.send(BINARY, chunk.ljust(FRAME_BYTES, b"\0"))
        k += 1


def _played(speech: speechref.Speech) -> tuple[bytes, list[RefWord]]:
    """The audio as sent (with the lead-in and tail silences) and its reference words."""
    lead = bytes(2 * round(LEAD_S * speechref.RATE))
    tail = bytes(2 * round(TAIL_S * speechref.RATE))
    ref = [RefWord(w.text, w.start_s + LEAD_S, w.end_s + LEAD_S) for w in speech.words]
    return lead + speech.pcm + tail, ref


def engine_alone(speech: speechref.Speech) -> dict[str, Any]:
    """The recognizer's own delay: the product's streaming decoder (its default settings) fed
    the same frames in this process, as fast as it goes, each result stamped with the audio
    clock (the end of the frame that produced it). What remains is the endpointer's window,
    the partial cadence and the search's own lag, with no CPU limit, network or page."""
    from edge_server.engines.pocketsphinx.decoder import StreamingDecoder

    pcm, ref = _played(speech)
    decoder = StreamingDecoder()
    decoder.start_stream()
    shown: list[Shown] = []
    segment = 0
    frames = -(-len(pcm) // FRAME_BYTES)
    for k in range(frames + 1):
        at = (k + 1) * FRAME_S
        if k < frames:
            events = decoder.process(pcm[k * FRAME_BYTES : (k + 1) * FRAME_BYTES])
        else:
            events = decoder.finish()
        for event in events:
            if event["t"] in ("partial", "final"):
                shown.append(Shown(at, event["t"], segment, str(event["text"])))
                segment += event["t"] == "final"
    found = latencies(ref, shown, FRAME_S, [(k + 1) * FRAME_S for k in range(frames)])
    return {
        "matched_words": found["matched_words"],
        "finals_timed": found["finals_timed"],
        "finals": found["finals"],
        "partial": summary_s(found["partial"]),
        "final": summary_s(found["final"]),
    }


def _recorder(into: list[Shown]) -> OnMessage:
    """A subscriber's handler: every partial and final, stamped with ``time.time()``."""

    def on_message(opcode: int, payload: bytes, now: float) -> None:
        if opcode != TEXT:
            return
        msg = json.loads(payload)
        if msg.get("type") in ("partial", "final") and isinstance(msg.get("segment"), int):
            into.append(Shown(time.time(), msg["type"], msg["segment"], str(msg.get("text") or "")))

    return on_message


async def run_once(
    speech: speechref.Speech, quota: float | None, log: Callable[[str], None]
) -> dict[str, Any]:
    """One play of ``speech`` through a fresh server (under ``quota`` of one core, if given)
    to a kiosk page; the latencies and what the server used."""
    pcm, ref = _played(speech)
    load0 = loadavg()
    with tempfile.TemporaryDirectory(prefix="bench-voice-") as state:
        args = ["--state", state, "--mode", "real", "--engine", "pocketsphinx"]
        async with server_process(args) as (proc, port):
            with contextlib.ExitStack() as stack:
                group = None
                if quota is not None:
                    group = stack.enter_context(CpuQuota(quota, name="edge-bench-voice"))
                    for pid in descendants(proc.pid):
                        group.add(pid)
                async with kiosk(port, ROOM) as watch:
                    received: list[Shown] = []
                    path = f"/ws/captions/{ROOM}?backlog=0"
                    subscriber = await connect(HOST, port, path, _recorder(received))
                    source = AudioSource()
                    await source.open(port, ROOM, wait_s=90.0)
                    window = CpuWindow(proc.pid).start()
                    q0 = group.stats() if group else None
                    sent_at: list[float] = []
                    more = asyncio.Event()
                    more.set()
                    sender = asyncio.create_task(_send(source, pcm, sent_at, more))
                    await asyncio.sleep(len(pcm) / (2 * speechref.RATE))
                    settled = await watch.quiet(quiet_s=4.0, limit_s=90.0)
                    more.clear()
                    await sender
                    window.stop()
                    q1 = group.stats() if group else None
                    await source.finish()
                    subscriber.close()
                    shown = await watch.shown()
                    errors = list(watch.errors)
    found = latencies(ref, shown, FRAME_S, sent_at)
    at_socket = latencies(ref, received, FRAME_S, sent_at)
    partial = found["partial"]
    half = len(partial) // 2
    out: dict[str, Any] = {
        "cpu_quota": quota,
        "audio_s": round(len(pcm) / (2 * speechref.RATE), 1),
        "frames_sent": len(sent_at),
        **{k: v for k, v in found.items() if k not in ("partial", "final", "word_final")},
        "partial": summary_s(partial),
        "final": summary_s(found["final"]),
        "word_final": summary_s(found["word_final"]),
        "partial_p50_s_by_half": [
            summary_s(partial[:half])["p50_s"],
            summary_s(partial[half:])["p50_s"],
        ],
        "socket": {
            "matched_words": at_socket["matched_words"],
            "finals_timed": at_socket["finals_timed"],
            "partial": summary_s(at_socket["partial"]),
            "final": summary_s(at_socket["final"]),
        },
        "screen_changes": len(shown),
        "settled": settled,
        "page_errors": errors,
        "server_cpu_percent": round(window.percent, 1),
        "quota": None,
        "loadavg": [load0, loadavg()],
    }
    if group is not None and q0 is not None and q1 is not None:
        out["quota"] = budget_use(q0, q1, group.fraction, window.wall)
    log(
        f"  voice to screen ({_label(quota)}): {out['matched_words']}/"
        f"{out['reference_words']} words matched; partial p50 {out['partial']['p50_s']} s, "
        f"p95 {out['partial']['p95_s']} s; final p50 {out['final']['p50_s']} s, p95 "
        f"{out['final']['p95_s']} s ({out['finals_timed']}/{out['finals']} finals timed); at "
        f"a plain subscriber: partial p50 {out['socket']['partial']['p50_s']} s, final p50 "
        f"{out['socket']['final']['p50_s']} s"
    )
    return out


def _label(quota: float | None) -> str:
    return "full speed" if quota is None else f"{quota:.0%} of one core"


async def measure(quick: bool, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Full speed, then the Pi budget; the targets checked on the full-speed p95."""
    ids = speechref.file_ids()
    if quick:
        ids = ids[:QUICK_FILES]
    speech = speechref.load(ids, pause_s=1.0, repeat=1 if quick else 2)
    log(f"  voice to screen: {speech.seconds:.1f} s of speech, {len(speech.words)} words")
    out: dict[str, Any] = {
        "files": speech.files,
        "speech_s": round(speech.seconds, 1),
        "frame_ms": DEFAULT_FRAME_MS,
        "pi_budget": PI_BUDGET,
        "targets": {"partial_p95_s": TARGET_PARTIAL_S, "final_p95_s": TARGET_FINAL_S},
    }
    out["engine_alone"] = engine_alone(speech)
    alone = out["engine_alone"]
    log(
        f"  recognizer alone (audio clock): partial p50 {alone['partial']['p50_s']} s, p95 "
        f"{alone['partial']['p95_s']} s; final p50 {alone['final']['p50_s']} s, p95 "
        f"{alone['final']['p95_s']} s"
    )
    browser = None if shutil.which(CHROMIUM) else f"no Chromium at {CHROMIUM}"
    if browser is None:
        out["full"] = await run_once(speech, None, log)
    else:
        out["full"] = {"error": browser}
        log(f"  voice to screen: not measured ({browser})")
    reason = browser or problem()
    if reason is None:
        out["budget"] = await run_once(speech, PI_BUDGET, log)
    else:
        out["budget"] = {"error": reason}
        log(f"  voice to screen at the Pi budget: not measured ({reason})")
    out["partial_target_met"] = _met(out["full"], "partial", TARGET_PARTIAL_S)
    out["final_target_met"] = _met(out["full"], "final", TARGET_FINAL_S)
    return out


def _met(run: dict[str, Any], key: str, goal: float) -> bool | None:
    """Whether ``run``'s p95 of ``key`` is within ``goal`` (None: not measured)."""
    value = run[key]["p95_s"] if key in run else None
    return None if value is None else bool(value <= goal)

"""Side by side with the reference design (:mod:`bench.reference.app`), on the same audio and
load: one room, 100 subscribers, words the local Transcribe fake recognizes, streamed in real
time; then the same with one subscriber that stops reading (4 KiB receive buffer, 1400-byte
TCP segments), at 10x real time so its buffers fill within the run. Both servers use the same
fake, in this process.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.lib.cloudfake import transcribe_fake
from bench.lib.spawn import run_json, server_process

SUBSCRIBERS = 100
SLOW_SPEED = 10


async def _load(port: int, pid: int, seconds: float, *, slow: bool) -> dict[str, Any]:
    args = [
        "-m", "bench.procs.loadcloud", "words", "--port", str(port), "--server-pid", str(pid),
        "--subs", str(SUBSCRIBERS), "--seconds", str(seconds),
    ]  # fmt: skip
    if slow:
        args += ["--slow", "--speed", str(SLOW_SPEED)]
    result: dict[str, Any] = await run_json(args, limit_s=seconds + 180)
    return result


async def _one_server(
    kind: str, env: dict[str, str], seconds: float, slow_seconds: float
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-cmp-") as state:
        if kind == "ours":
            args = ["--state", state, "--mode", "real", "--engine", "transcribe"]
            module = "bench.procs.serve"
        else:
            url, ca = env["AWS_ENDPOINT_URL_TRANSCRIBE_STREAMING"], env["AWS_CA_BUNDLE"]
            args, module = ["--endpoint", url, "--ca", ca], "bench.reference.app"
        out = {}
        async with server_process(args, env, module=module) as (proc, port):
            out["normal"] = await _load(port, proc.pid, seconds, slow=False)
        async with server_process(args, env, module=module) as (proc, port):
            out["slow"] = await _load(port, proc.pid, slow_seconds, slow=True)
    return out


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else round(a / b, 2)


async def measure(quick: bool, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Both servers, both scenarios, and reference/ours ratios."""
    seconds = 5.0 if quick else 20.0
    slow_seconds = 120.0 if quick else 300.0  # audio seconds, sent at SLOW_SPEED x real time
    with tempfile.TemporaryDirectory(prefix="bench-fake-") as folder:
        async with transcribe_fake(Path(folder)) as env:
            ours = await _one_server("ours", env, seconds, slow_seconds)
            ref = await _one_server("reference", env, seconds, slow_seconds)
    o, r = ours["normal"], ref["normal"]
    ratios = {
        "cpu_per_stream": _ratio(r["server_cpu_percent"], o["server_cpu_percent"]),
        "final_p99": _ratio(r["final"]["p99_ms"], o["final"]["p99_ms"]),
        "partial_p99": _ratio(r["partial"]["p99_ms"], o["partial"]["p99_ms"]),
        "slow_final_p99": _ratio(ref["slow"]["final"]["p99_ms"], ours["slow"]["final"]["p99_ms"]),
    }
    for name, run in (("ours", ours), ("reference", ref)):
        n, s = run["normal"], run["slow"]
        log(
            f"  {name:>9}: CPU {n['server_cpu_percent']} % of a core for one stream; final "
            f"p99 {n['final']['p99_ms']} ms; with a stalled subscriber: final p99 "
            f"{s['final']['p99_ms']} ms, max {s['final']['max_ms']} ms, finals delivered "
            f"{s['finals_delivered']}/{s['finals_expected']}, stalled one closed with "
            f"{s['slow_close_code']}"
        )
    log(f"  ratios reference/ours: {ratios}")
    return {
        "subscribers": SUBSCRIBERS,
        "seconds": seconds,
        "slow_audio_seconds": slow_seconds,
        "ours": ours,
        "reference": ref,
        "ratios_reference_over_ours": ratios,
    }

"""Listener fan-out: how many phones one room sustains, each receiving the text and 16 kHz PCM
speech of every sentence, within 50 % of one core and without any listener falling behind.

The server (:mod:`bench.procs.serve --speech`: fixed-latency recognizer, echo translator to ``it``,
a synthesizer that returns 2 s of PCM per sentence in 16000-byte chunks) gets one sentence every
2 s, so speech is continuous: 32 kB/s of PCM per listener. Listener counts double until the
server process exceeds the CPU budget or a listener falls behind: dropped (4008), a sentence
missing, or its speech arriving later and later (lag growth above ``GROWTH_LIMIT_MS``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any

from bench.lib.spawn import run_json, server_process

CPU_BUDGET = 50.0
GROWTH_LIMIT_MS = 250.0
LOADGEN_SATURATED = 85.0


async def run_step(listeners: int, seconds: float) -> dict[str, Any]:
    """One listener count on a fresh server."""
    with tempfile.TemporaryDirectory(prefix="bench-listen-") as state:
        async with server_process(["--state", state, "--speech"]) as (proc, port):
            load = [
                "-m", "bench.procs.loadlisten", "--port", str(port), "--server-pid", str(proc.pid),
                "--listeners", str(listeners), "--seconds", str(seconds),
            ]  # fmt: skip
            result: dict[str, Any] = await run_json(load, limit_s=seconds + 300)
    result["behind"] = bool(
        result["dropped"]
        or result["sentences_spoken"] < result["sentences_expected"]
        or result["speech_lag_growth_ms"] > GROWTH_LIMIT_MS
    )
    result["within_budget"] = result["server_cpu_percent"] <= CPU_BUDGET
    return result


async def measure(quick: bool, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Double the listeners until a limit is hit; the largest count that held."""
    seconds = 5.0 if quick else 10.0
    counts = [50, 400] if quick else [50, 100, 200, 400, 800, 1600, 3200, 6400]
    steps = []
    sustained = 0
    for count in counts:
        step = await run_step(count, seconds)
        steps.append(step)
        log(
            f"  listeners {count:>5}: server CPU {step['server_cpu_percent']} %, speech_end "
            f"p99 {step['speech_end']['p99_ms']} ms, text p99 {step['text']['p99_ms']} ms, "
            f"load generator CPU {step['loadgen_cpu_percent']} %, dropped {step['dropped']}, "
            f"spoken {step['sentences_spoken']}/{step['sentences_expected']}, "
            f"load {step['loadavg'][0][0]}"
        )
        if step["behind"] or not step["within_budget"]:
            break
        sustained = count
    limit = steps[-1]
    reason = None
    if limit["behind"] and limit["loadgen_cpu_percent"] > LOADGEN_SATURATED:
        reason = (
            f"at {limit['listeners']} a listener fell behind, with the load generator itself "
            f"at {limit['loadgen_cpu_percent']} % of a core (it may be the limit)"
        )
    elif limit["behind"]:
        reason = f"at {limit['listeners']} a listener fell behind"
    elif not limit["within_budget"]:
        reason = f"at {limit['listeners']} the server needed {limit['server_cpu_percent']} %"
    else:
        reason = f"not reached: the largest count tried ({limit['listeners']}) held"
    per_listener = [
        s["server_cpu_percent"] / s["listeners"] for s in steps if s["listeners"] >= 200
    ] or [s["server_cpu_percent"] / s["listeners"] for s in steps]
    return {
        "cpu_budget_percent": CPU_BUDGET,
        "speech_s_per_sentence": 2.0,
        "sentence_period_s": 2.0,
        "steps": steps,
        "sustained_listeners": sustained,
        "limit": reason,
        "cpu_percent_per_listener": round(min(per_listener), 4),
        "extrapolated_listeners_at_budget": int(CPU_BUDGET / min(per_listener))
        if min(per_listener) > 0
        else None,
    }

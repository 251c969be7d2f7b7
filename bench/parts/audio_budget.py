"""The audio node at a Pi budget: ``edge-audio run`` capturing 48 kHz stereo from a private
PipeWire (bench/standalone/edge_audio_cpu.py) inside a CPU quota of 20 % of one core (one
Raspberry Pi 4 core, see docs/performance.md), over 60 s (quick: 20 s).

Reported: its CPU seconds as a share of the budget (CPU s / (0.2 x wall s)), the periods the
kernel throttled it, and whether audio was dropped: seconds of audio the server received
against wall seconds (:mod:`bench.lib.continuity`), the node's own ``gap`` reports, and any
warning it logged. PipeWire and the server run outside the quota.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bench.lib.cpuquota import problem
from bench.lib.procstat import loadavg
from bench.parts import pi_budget

PI_BUDGET = pi_budget.QUOTA
"""One Raspberry Pi 4 core as a share of one core here (bench/parts/pi_budget.py)."""


async def measure(quick: bool, log: Callable[[str], None] = print) -> dict[str, Any]:
    """One run of the node under the quota; no audio lost is the target."""
    from bench.standalone import edge_audio_cpu

    seconds = 20.0 if quick else 60.0
    reason = problem()
    if reason is not None:
        log(f"  audio node at the Pi budget: not measured ({reason})")
        return {"error": reason, "quota": PI_BUDGET, "seconds": seconds}
    load0 = loadavg()
    try:
        result: dict[str, Any] = await asyncio.to_thread(edge_audio_cpu.run, seconds, PI_BUDGET)
    except (OSError, RuntimeError, SystemExit) as exc:  # no PipeWire, a node that never started
        log(f"  audio node at the Pi budget: not measured ({exc})")
        return {"error": f"{type(exc).__name__}: {exc}", "quota": PI_BUDGET, "seconds": seconds}
    result["loadavg"] = [load0, loadavg()]
    result["seconds"] = seconds
    gaps = result.get("gaps_reported") or 0
    result["dropped"] = bool(result["continuity"]["lost"] or gaps or result["node_warnings"])
    q, c = result["quota"], result["continuity"]
    log(
        f"  audio node at {PI_BUDGET:.0%} of one core: {100 * q['share_of_budget']:.1f} % of "
        f"its budget, throttled in {q['throttled_periods']}/{q['periods']} periods; "
        f"received {c['received_s']} s of audio in {c['wall_s']} s "
        f"(shortfall {c['shortfall_s']} s, gaps {gaps}): "
        f"{'AUDIO DROPPED' if result['dropped'] else 'no audio dropped'}"
    )
    return result

"""Run the benchmarks: ``python -m bench [--quick] [--only PART ...]`` (``make bench``).

Parts: ``pipeline`` (overhead from audio frame to subscriber), ``listeners`` (phones with
speech), ``resources`` (CPU per room-hour and memory), ``compare`` (the reference design side
by side), ``pi_budget`` (the embedded engine in real time on one Raspberry Pi 4 core's CPU
budget), ``voice_screen`` (real speech to words on a kiosk in Chromium, at full speed and at
the Pi budget), ``audio_budget`` (the audio node inside a Pi-sized CPU quota), ``glossary_wer``
(what the glossary does to the embedded engine's word error rate on speech full of names),
``hub_relay`` (4 rooms replicating to Redis, 2 hubs, 5,000 remote listeners). Prints a table,
writes ``bench/results/bench.json`` and, from all results, ``docs/performance.md`` with plots
in ``docs/performance/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.lib.procstat import loadavg, machine
from bench.parts import (
    audio_budget,
    compare,
    glossary_wer,
    hub_relay,
    listeners,
    pi_budget,
    pipeline,
    resources,
    voice_screen,
)
from bench.report import files
from bench.report.table import table

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "bench.json"
PARTS = {
    "pipeline": pipeline.measure,
    "listeners": listeners.measure,
    "resources": resources.measure,
    "compare": compare.measure,
    "pi_budget": pi_budget.measure,
    "voice_screen": voice_screen.measure,
    "audio_budget": audio_budget.measure,
    "glossary_wer": glossary_wer.measure,
    "hub_relay": hub_relay.measure,
}


def log(line: str) -> None:
    """Progress on stderr (the table goes to stdout)."""
    print(line, file=sys.stderr, flush=True)


async def run(parts: list[str], quick: bool) -> dict[str, Any]:
    """Run ``parts``, merged into the previous results (a partial run keeps the others)."""
    results: dict[str, Any] = {}
    if RESULTS.exists():
        results = json.loads(RESULTS.read_text())
    results["machine"] = machine()
    for part in parts:
        log(f"{part}: running ({'quick' if quick else 'full'}, load {loadavg()})")
        started = time.monotonic()
        found = await PARTS[part](quick, log)
        found["quick"] = quick
        found["duration_s"] = round(time.monotonic() - started, 1)
        found["machine"] = machine()
        results[part] = found
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    return results


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (about 3 minutes)")
    parser.add_argument("--only", nargs="+", choices=sorted(PARTS), help="run only these parts")
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite the doc and plots")
    parser.add_argument(
        "--doc-only", action="store_true", help="rewrite table, doc and plots from the results"
    )
    args = parser.parse_args(argv)
    parts = args.only or list(PARTS)
    started = time.monotonic()
    if args.doc_only:
        results = json.loads(RESULTS.read_text())
    else:
        results = asyncio.run(run(parts, args.quick))
    print(table(results))
    if not args.no_doc:
        written = files.write(results)
        print(f"\nresults: {RESULTS.relative_to(ROOT)}; " + ", ".join(written))
    print(f"took {time.monotonic() - started:.0f} s")
    return 0

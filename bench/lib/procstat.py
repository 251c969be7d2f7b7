"""Process figures from ``/proc`` (no psutil): CPU seconds, resident memory, load, machine."""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLOCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (all its threads; 0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK


def rss_mb(pid: int, key: str = "VmRSS") -> float:
    """``VmRSS`` (or ``VmHWM``, the peak) of ``pid`` in MiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def pss_mb(pid: int) -> float:
    """Proportional set size of ``pid`` in MiB (shared pages split among their users), so a
    tree's figures add up without counting shared libraries twice; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (recognizer workers, ...)."""
    found = [pid]
    index = 0
    while index < len(found):
        current = found[index]
        index += 1
        try:
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                found.extend(int(c) for c in (task / "children").read_text().split())
            except OSError:
                continue
    return found


def tree_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of ``pid`` and its descendants, by pid."""
    return {p: cpu_seconds(p) for p in descendants(pid)}


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants, in MiB."""
    return sum(rss_mb(p) for p in descendants(pid))


def tree_pss_mb(pid: int) -> float:
    """Proportional set size of ``pid`` and its descendants, in MiB."""
    return sum(pss_mb(p) for p in descendants(pid))


def cpu_pressure() -> float | None:
    """Share of the last 10 s some runnable task waited for a CPU (Linux PSI), percent."""
    try:
        return float(Path("/proc/pressure/cpu").read_text().split()[1].split("=")[1])
    except (OSError, IndexError, ValueError):
        return None


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


@dataclass
class CpuWindow:
    """CPU use of a process tree between :meth:`start` and :meth:`stop`."""

    pid: int
    wall0: float = 0.0
    cpu0: dict[int, float] | None = None
    wall: float = 0.0
    cpu: float = 0.0

    def start(self) -> CpuWindow:
        """Begin the window."""
        self.wall0, self.cpu0 = time.monotonic(), tree_cpu(self.pid)
        return self

    def stop(self) -> CpuWindow:
        """End the window; ``cpu`` is the tree's CPU seconds in it (processes alive at the end,
        and at the start, counted from their start value)."""
        assert self.cpu0 is not None
        end = tree_cpu(self.pid)
        self.wall = time.monotonic() - self.wall0
        self.cpu = sum(v - self.cpu0.get(p, 0.0) for p, v in end.items())
        return self

    @property
    def percent(self) -> float:
        """CPU as a percentage of one core."""
        return 100.0 * self.cpu / self.wall if self.wall else 0.0


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``values`` need not be sorted)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary_s(values: list[float]) -> dict[str, Any]:
    """count, p50, p95 and max of latencies in seconds (3 decimals; None when empty)."""
    if not values:
        return {"count": 0, "p50_s": None, "p95_s": None, "max_s": None}
    data = list(values)
    return {
        "count": len(data),
        "p50_s": round(percentile(data, 0.50), 3),
        "p95_s": round(percentile(data, 0.95), 3),
        "max_s": round(max(data), 3),
    }


def summary_ms(values: list[float]) -> dict[str, Any]:
    """p50/p99/max/mean (ms, 3 decimals) and count of latencies given in seconds."""
    if not values:
        return {"count": 0, "p50_ms": None, "p99_ms": None, "max_ms": None, "mean_ms": None}
    ms = [v * 1000.0 for v in values]
    return {
        "count": len(ms),
        "p50_ms": round(percentile(ms, 0.50), 3),
        "p99_ms": round(percentile(ms, 0.99), 3),
        "max_ms": round(max(ms), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
    }


def machine() -> dict[str, Any]:
    """What the figures were taken on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": round(mem, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "arch": platform.machine(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "loadavg_at_start": loadavg(),
        "cpu_pressure_avg10": cpu_pressure(),
    }

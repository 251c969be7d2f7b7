"""Run processes as if on one Raspberry Pi core: a CPU quota through the kernel's cgroups.

``CpuQuota(0.20)`` makes a cgroup whose processes together get at most 20 % of one core
(``cpu.max`` on cgroup v2, ``cpu.cfs_quota_us`` on v1, both with a 100 ms period) and, up to
that, priority over everything else on the machine (top ``cpu.weight``/``cpu.shares``); processes
added with :meth:`CpuQuota.add` and their later children stay in it. :meth:`CpuQuota.stats`
reads how much CPU they used and how often the kernel held them back. Needs root (writing
under ``/sys/fs/cgroup``); :func:`problem` says in one sentence why a quota cannot be made.

On a machine where systemd is PID 1, ``systemd-run --scope -p CPUQuota=20% CMD`` does the
same for one command; the benchmarks use the cgroup files directly because CI runs without
systemd.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 100_000


@dataclass(frozen=True)
class QuotaStats:
    """What the processes of a quota used so far."""

    usage_s: float
    """CPU seconds used (user + system, all processes)."""
    periods: int
    """Scheduler periods (100 ms) in which the group ran."""
    throttled_periods: int
    """Periods in which the group hit its quota and had to wait."""
    throttled_s: float
    """Total time the group was held back."""


def version(root: Path = CGROUP_ROOT) -> int | None:
    """2 for the unified hierarchy, 1 for a v1 ``cpu`` controller, None when neither is there."""
    if (root / "cgroup.controllers").exists():
        return 2
    if (root / "cpu" / "cpu.cfs_quota_us").exists():
        return 1
    return None


def problem(root: Path = CGROUP_ROOT) -> str | None:
    """Why no quota can be made here (None when one can)."""
    found = version(root)
    if found is None:
        return f"no cgroup CPU controller under {root} (neither cgroup v2 nor a v1 cpu hierarchy)"
    if os.geteuid() != 0:
        return "a CPU quota needs root (it writes under /sys/fs/cgroup); run as root or with sudo"
    if found == 2 and "cpu" not in (root / "cgroup.subtree_control").read_text().split():
        return f"cgroup v2 without the cpu controller enabled in {root}/cgroup.subtree_control"
    return None


def quota_us(fraction: float, period_us: int = PERIOD_US) -> int:
    """The quota in microseconds per period for ``fraction`` of one core (at least 1 ms)."""
    if not 0 < fraction <= 64:
        raise ValueError(f"CPU fraction {fraction} is not in (0, 64] cores")
    return max(1000, round(fraction * period_us))


class CpuQuota:
    """A cgroup limited to ``fraction`` of one core; a context manager that removes it after."""

    def __init__(self, fraction: float, name: str = "edge-pi-budget", root: Path = CGROUP_ROOT):
        self.fraction = fraction
        self.version = version(root)
        if self.version == 2:
            self.path = root / name
            self._accounting = self.path
        elif self.version == 1:
            self.path = root / "cpu" / name
            self._accounting = root / "cpuacct" / name
        else:
            raise RuntimeError(problem(root) or "no cgroup CPU controller")
        self._root = root
        self._pids: list[int] = []

    def __enter__(self) -> CpuQuota:
        reason = problem(self._root)
        if reason:
            raise RuntimeError(reason)
        self.path.mkdir(exist_ok=True)
        quota = quota_us(self.fraction)
        # The quota caps the group; the top weight makes sure other work on this machine does
        # not eat into the budget (a Pi's core is not shared with this machine's other jobs).
        if self.version == 2:
            (self.path / "cpu.max").write_text(f"{quota} {PERIOD_US}\n")
            (self.path / "cpu.weight").write_text("10000\n")
        else:
            (self.path / "cpu.cfs_period_us").write_text(f"{PERIOD_US}\n")
            (self.path / "cpu.cfs_quota_us").write_text(f"{quota}\n")
            (self.path / "cpu.shares").write_text("262144\n")
            if self._accounting.parent.exists():
                self._accounting.mkdir(exist_ok=True)
        return self

    def add(self, pid: int) -> None:
        """Put ``pid`` (and so its future children) under the quota."""
        (self.path / "cgroup.procs").write_text(f"{pid}\n")
        if self._accounting != self.path and self._accounting.exists():
            (self._accounting / "cgroup.procs").write_text(f"{pid}\n")
        self._pids.append(pid)

    def stats(self) -> QuotaStats:
        """CPU used and throttling so far."""
        stat = _keyed(self.path / "cpu.stat")
        if self.version == 2:
            usage = stat.get("usage_usec", 0) / 1e6
            throttled = stat.get("throttled_usec", 0) / 1e6
        else:
            usage_file = self._accounting / "cpuacct.usage"
            usage = int(usage_file.read_text()) / 1e9 if usage_file.exists() else 0.0
            throttled = stat.get("throttled_time", 0) / 1e9
        return QuotaStats(
            usage_s=usage,
            periods=stat.get("nr_periods", 0),
            throttled_periods=stat.get("nr_throttled", 0),
            throttled_s=throttled,
        )

    def __exit__(self, *exc: object) -> None:
        """Move whatever still runs in the group back to the root, then remove the group."""
        groups = [self.path] if self._accounting == self.path else [self.path, self._accounting]
        for group in groups:
            if not group.exists():
                continue
            with contextlib.suppress(OSError):
                for pid in (group / "cgroup.procs").read_text().split():
                    with contextlib.suppress(OSError):
                        (group.parent / "cgroup.procs").write_text(f"{pid}\n")
            for _ in range(50):  # rmdir fails while exiting processes still count
                try:
                    group.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


def budget_use(
    before: QuotaStats, after: QuotaStats, fraction: float, wall_s: float
) -> dict[str, float | int | None]:
    """What a quota of ``fraction`` of one core was used for between two readings ``wall_s``
    apart: CPU seconds, their share of the budget (CPU s / (fraction x wall s)), periods run
    and throttled, seconds held back."""
    used = after.usage_s - before.usage_s
    return {
        "fraction": fraction,
        "cpu_s": round(used, 3),
        "share_of_budget": round(used / (fraction * wall_s), 3) if wall_s > 0 else None,
        "periods": after.periods - before.periods,
        "throttled_periods": after.throttled_periods - before.throttled_periods,
        "throttled_s": round(after.throttled_s - before.throttled_s, 3),
    }


def _keyed(path: Path) -> dict[str, int]:
    """A ``key value`` per line file as a dict."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            key, _, value = line.partition(" ")
            with contextlib.suppress(ValueError):
                out[key] = int(value)
    return out

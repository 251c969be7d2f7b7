"""Made-up machine facts for the report tests (bench/report/): nothing is measured."""

from __future__ import annotations

MACHINE = {
    "cpu": "Test CPU",
    "cores": 2,
    "memory_gib": 4.0,
    "kernel": "6.1",
    "python": "3.13.0",
    "arch": "x86_64",
    "when": "2026-12-03T10:00:00+0000",
    "loadavg_at_start": [0.5, 0.5, 0.5],
    "cpu_pressure_avg10": 1.0,
}

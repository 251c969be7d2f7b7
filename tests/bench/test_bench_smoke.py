"""The benchmark's smallest pipeline-overhead cell runs end to end and reports sane JSON.

No timing thresholds: the machine may be busy. It proves the benchmark itself works (server
process, load generator, fixed-latency recognizer, every caption reaching every subscriber).
"""

from __future__ import annotations

import asyncio

import pytest

from bench.parts import pipeline

pytestmark = pytest.mark.timeout(120)


async def test_smallest_pipeline_cell_produces_sane_json() -> None:
    result = await asyncio.wait_for(pipeline.run_cell(1, 10, 3.0, warmup=1.0), 100)
    assert result["rooms"] == 1
    assert result["subscribers"] == 10
    assert result["triggers"] >= 4
    assert result["deliveries_expected"] == result["triggers"] * 10
    assert result["missing"] == 0
    assert result["count"] == result["deliveries"] == result["deliveries_expected"]
    assert 0 <= result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert result["server_cpu_percent"] >= 0
    assert result["server_rss_mb"] > 10
    assert result["fsync"] is True

"""The hub benchmark (bench/parts/hub_relay.py): a tiny real run end to end (4 room servers,
redis-server, 2 hub processes, one listener process) with every final at every listener in
order and its figures in the table and docs/performance.md; and the listeners' tally, which
must catch a missed, repeated or reordered final. No timing thresholds: the machine may be
busy."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from bench.parts import hub_relay
from bench.procs.hublisten import Listener, tally
from bench.report.doc import document
from bench.report.table import table
from tests.bench.made_up import MACHINE

pytestmark = pytest.mark.timeout(240)


def listener(room: str, got: list[tuple[int, float]]) -> Listener:
    one = Listener(room)
    one.got = got
    return one


def test_the_tally_counts_missed_repeated_and_reordered_finals_and_the_latency() -> None:
    published = {"a": {1: 10.0, 2: 11.0, 3: 12.0, 4: 13.0}, "b": {1: 10.5}}
    listeners = [
        listener("a", [(2, 11.0105), (3, 12.0205), (4, 13.0305)]),  # 1 was before t0: not due
        listener("a", [(2, 11.1005), (4, 13.1005), (3, 12.2005), (3, 12.2005)]),  # order, twice
        listener("a", [(2, 11.5005)]),  # missed 3 and 4
        listener("b", []),  # nothing published since t0 in room b
    ]
    found = tally(listeners, published, t0=10.9)
    assert found["expected"] == 9
    assert found["received"] == 7
    assert found["missed"] == 2
    assert found["duplicates"] == 1
    assert found["out_of_order"] == 2  # 4 -> 3, 3 -> 3
    assert found["latency_hist_ms"] == {"10": 1, "20": 1, "30": 1, "100": 2, "200": 2, "500": 1}
    assert found["latency_max_ms"] == 500.5
    assert found["first_ms"] == {"a:2": 10.5, "a:3": 20.5, "a:4": 30.5}


@pytest.mark.parametrize(
    ("histogram", "fraction", "expected"),
    [
        (Counter({5: 1}), 0.5, 6.0),
        (Counter({1: 98, 50: 2}), 0.5, 2.0),
        (Counter({1: 98, 50: 2}), 0.99, 51.0),
        (Counter(), 0.5, None),
    ],
)
def test_percentiles_of_the_merged_histogram(
    histogram: Counter[int], fraction: float, expected: float | None
) -> None:
    assert hub_relay.hist_percentile(histogram, fraction) == expected


def test_histograms_of_several_listener_processes_add_up() -> None:
    merged = hub_relay.merge_histograms([{"3": 2, "7": 1}, {"3": 1}])
    assert merged == Counter({3: 3, 7: 1})


async def test_a_tiny_real_run_delivers_every_final_in_order_and_reports_it() -> None:
    found = await asyncio.wait_for(
        hub_relay.run_once(24, 3.0, period=1.0, idle_s=1.0, log=lambda _line: None), 200
    )
    assert found["listeners_connected"] == 24
    assert found["finals_published"] == found["finals_replicated"] >= 8
    assert found["deliveries_expected"] == found["finals_published"] * 24 // 4
    assert found["deliveries_received"] == found["deliveries_expected"]
    assert found["missed"] == found["duplicates"] == found["out_of_order"] == 0
    assert found["dropped"] == 0
    assert found["complete_and_ordered"] is True
    lat = found["latency_ms"]
    assert lat["count"] == found["deliveries_received"]
    assert 0 < lat["p50"] <= lat["p99"] <= lat["max"] + 1
    assert found["hub_cpu_s"] > 0
    first = found["first_listener_latency_ms"]
    assert first["count"] == found["finals_published"]
    assert 0 < first["p50"] <= lat["p99"]
    assert found["redis_arrival_latency_ms"]["count"] == found["finals_published"]
    assert found["redis_bytes_per_final"] > found["redis_bound"]["entry_bytes"] > 300
    assert found["redis_bound"]["maxlen"] <= found["redis_bound"]["length_after"] < 10_200
    results = {"machine": MACHINE, "hub_relay": found | {"machine": MACHINE, "quick": True}}
    printed = table(results)
    assert "Hub relay: 4 rooms -> Redis -> 2 hubs" in printed
    doc = document(results, printed)
    assert "## 8. The conference hub" in doc
    assert "| hub: >= 5,000 remote listeners, every final once and in order | 24 listeners" in doc
    row = next(line for line in doc.splitlines() if line.startswith("| hub: >= 5,000"))
    assert row.endswith("| missed |")  # 24 listeners are not the 5,000 of the target

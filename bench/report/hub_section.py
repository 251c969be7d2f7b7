"""The hub benchmark (:mod:`bench.parts.hub_relay`) in the table, the targets and the doc."""

from __future__ import annotations

from typing import Any

from bench.report.fmt import num

TARGET_LISTENERS = 5000


def _sizing(h: dict[str, Any]) -> tuple[float | None, float | None]:
    """Listeners one hub carries at 50 % of a core: at the benchmark's rate and a talk's."""

    def at_half(percent_per_1000: float | None) -> float | None:
        return round(50 / percent_per_1000 * 1000, -2) if percent_per_1000 else None

    return at_half(h["hub_cpu_percent_per_1000"]), at_half(h["hub_talk_rate_cpu_percent_per_1000"])


def hub_relay_rows(h: dict[str, Any]) -> list[str]:
    """The terminal table's rows."""
    lat = h["latency_ms"]
    return [
        "",
        f"Hub relay: {h['rooms']} rooms -> Redis -> {h['hubs']} hubs -> remote listeners "
        f"(a final every {num(h['final_period_s'])} s per room)",
        f"{'listeners':>9} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'received':>17} "
        f"{'missed':>6} {'disorder':>8} {'hub %/1000':>10} {'idle':>5} {'talk':>5} "
        f"{'Redis B/final':>13} {'load 1m':>8}",
        f"{h['listeners_connected']:>9} {num(lat['p50']):>7} {num(lat['p99']):>7} "
        f"{num(lat['max']):>7} {h['deliveries_received']:>8}/{h['deliveries_expected']:<8} "
        f"{h['missed']:>6} {h['out_of_order'] + h['duplicates']:>8} "
        f"{num(h['hub_cpu_percent_per_1000']):>10} {num(h['hub_idle_cpu_percent_per_1000']):>5} "
        f"{num(h['hub_talk_rate_cpu_percent_per_1000']):>5} {num(h['redis_bytes_per_final']):>13} "
        f"{num(h['loadavg'][1][0]):>8}",
    ]


def hub_relay_targets(h: dict[str, Any]) -> list[str]:
    """The targets table's row."""
    lat = h["latency_ms"]
    held = h["listeners_connected"] >= TARGET_LISTENERS and h["complete_and_ordered"]
    verdict = "met" if held else "missed"
    return [
        f"| hub: >= {TARGET_LISTENERS:,} remote listeners, every final once and in order | "
        f"{h['listeners_connected']:,} listeners on {h['hubs']} hubs, "
        f"{h['deliveries_received']:,}/{h['deliveries_expected']:,} finals received, "
        f"{h['missed']} missed, {h['out_of_order']} out of order; publication to listener "
        f"p50 {num(lat['p50'])} ms, p99 {num(lat['p99'])} ms (load {num(h['loadavg'][1][0])}) "
        f"| {verdict} |"
    ]


def hub_relay_section(h: dict[str, Any]) -> list[str]:
    """Section 8 of docs/performance.md."""
    lat, bound = h["latency_ms"], h["redis_bound"]
    bench_rate, talk_rate = _sizing(h)
    m = h.get("machine") or {}
    return [
        "## 8. The conference hub: rooms -> Redis -> hubs -> remote listeners",
        "",
        f"`python -m bench --only hub_relay` (bench/parts/hub_relay.py). {h['rooms']} real room "
        "servers (one process per room, as on the Pis; fixed-latency recognizer, echo",
        "translator into 2 targets, 73-character finals as docs/storage.md measured, transcript",
        f"fsync'ed) replicate to a real `redis-server`; {h['hubs']} real `edge-server hub` "
        f"processes serve {h['listeners_connected']:,} remote listeners",
        f"(`/ws/captions/{{room}}?backlog=0`, {h['listener_processes']} load-generator "
        "processes of lean WebSocket clients, bench/procs/hublisten.py), spread evenly over",
        "both hubs and all rooms. Each room gets a final every "
        f"{num(h['final_period_s'])} s for {num(h['seconds'])} s "
        f"({num(h['finals_per_s_all_rooms'])} finals per second in all),",
        "far more than a talk's 557 per hour, so the window",
        "holds enough finals. Latency runs from the room's publication (its pipeline trace",
        "reads `time.monotonic()` as the room hands the final to its own subscribers) to the",
        "remote listener's read, so it includes the replicator (woken by the room's append),",
        "Redis, the hub's blocking read and its fan-out. "
        + (
            f"Measured {m.get('when', '')}, load average {h['loadavg'][0]} at the start of the "
            f"window and {h['loadavg'][1]} at its end."
            if m
            else ""
        ),
        "",
        "| figure | value |",
        "|---|---|",
        f"| listeners connected (in {num(h['connect_s'])} s) | {h['listeners_connected']:,} |",
        f"| finals published by the rooms / in Redis | {h['finals_published']} / "
        f"{h['finals_replicated']} |",
        f"| finals expected at the listeners / received | {h['deliveries_expected']:,} / "
        f"{h['deliveries_received']:,} |",
        f"| missed / duplicated / out of order / connections dropped | {h['missed']} / "
        f"{h['duplicates']} / {h['out_of_order']} / {h['dropped']} |",
        f"| latency publication -> remote listener, p50 / p99 / max | {num(lat['p50'])} / "
        f"{num(lat['p99'])} / {num(lat['max'])} ms ({lat['count']:,} receipts) |",
        *_first_row(h),
        f"| hub CPU while finals flow, both hubs | {num(h['hub_cpu_s'])} CPU s in "
        f"{num(h['seconds'])} s ({' + '.join(num(x) for x in h['hub_cpu_percent'])} % of a core) |",
        f"| hub CPU per 1,000 listeners, finals flowing | {num(h['hub_cpu_percent_per_1000'])} % "
        f"of a core = {num(h['hub_cpu_s_per_1000_per_min'])} CPU s per minute |",
        f"| hub CPU per delivered final | {num(h['hub_cpu_us_per_delivery'])} us |",
        f"| hub CPU per 1,000 listeners, connected and idle (heartbeats) | "
        f"{num(h['hub_idle_cpu_percent_per_1000'])} % of a core |",
        f"| hub CPU per 1,000 listeners at a talk's rate (557 finals/h per room; idle + the "
        f"per-final cost scaled) | {num(h['hub_talk_rate_cpu_percent_per_1000'])} % of a core |",
        f"| hub resident memory, with / before the listeners | "
        f"{' / '.join(num(x) for x in h['hub_rss_mb'])} MB / "
        f"{' / '.join(num(x) for x in h.get('hub_rss_mb_before_listeners', []))} MB |",
        f"| Redis CPU while finals flow | {num(h['redis_cpu_percent'])} % of a core |",
        f"| Redis bytes per final (`MEMORY USAGE` of the rooms' streams after the run) | "
        f"{num(h['redis_stream_bytes_per_final_in_run'])} |",
        f"| Redis bytes per final at scale (a stream filled with {bound['adds']:,} copies of a "
        f"replicated final, {bound['entry_bytes']} bytes of fields) | {bound['bytes_per_entry']} |",
        f"| Redis memory per hour of transcript, one room (x 557 finals) | "
        f"{num(h['redis_mb_per_room_hour'])} MB |",
        f"| stream bound: length after {bound['adds']:,} adds with `MAXLEN ~ "
        f"{bound['maxlen']:,}` | {bound['length_after']:,} ({bound['bytes_after'] / 1e6:.1f} MB) |",
        "",
        f"Measured: {h['listeners_connected'] // h['hubs']:,} listeners per hub, each hub at "
        f"about {num(max(h['hub_cpu_percent']))} % of a core while finals flow. By CPU alone one "
        f"hub at 50 % of this machine's core would carry about {num(bench_rate)} listeners at "
        f"the benchmark's rate of finals and about {num(talk_rate)} at a talk's; that is",
        "extrapolation, and memory",
        f"(about {num(h.get('hub_kb_per_listener'))} KB per listener: the hubs' resident memory "
        "before and after the listeners connected), file descriptors and the rate at which a",
        "hub accepts a crowd of reconnecting listeners come first. Sizing for a conference is",
        "in docs/hub.md, section Sizing.",
        "",
        *_latency_note(h),
    ]


def _latency_note(h: dict[str, Any]) -> list[str]:
    """The run with few listeners, for the latency at the same machine load."""
    small = h.get("small_run")
    if not small:
        return []
    lat = small["latency_ms"]
    load = h["loadavg"]
    return [
        f"Latency and the machine: just before, {small['listeners_connected']} listeners had "
        f"p50 {num(lat['p50'])} ms, p99 {num(lat['p99'])} ms (load "
        f"{num(small['loadavg'][1][0])}, {small['missed']} missed). The "
        f"{h['listeners_connected']:,}-listener window ran at load {num(load[0][0])} -> "
        f"{num(load[1][0])} beside other sessions' tests (CPU pressure "
        f"{num((h.get('machine') or {}).get('cpu_pressure_avg10'))} % at the part's start), the",
        "benchmark at nice 5: the tail is mostly waiting for a CPU (the hubs used about",
        f'{num(max(h["hub_cpu_percent"]))} % of a core each). The row "up to Redis" is the room\'s '
        "replicator, woken when the room appends a final (it polled every 0.1 s before).",
        "Re-run on a quiet machine for a dedicated hub's latency; the counts, CPU seconds and",
        "Redis figures stand.",
        "",
    ]


def _first_row(h: dict[str, Any]) -> list[str]:
    """The latency of each final's first listener: before the fan-out."""
    first = h.get("first_listener_latency_ms")
    if not first:
        return []
    arrival = h.get("redis_arrival_latency_ms")
    rows = []
    if arrival:
        rows.append(
            f"| the same up to Redis (room, replicator: a blocking `XREAD` in the benchmark's "
            f"process stamps each entry), p50 / p99 / max | {num(arrival['p50'])} / "
            f"{num(arrival['p99'])} / {num(arrival['max'])} ms |"
        )
    return [
        *rows,
        f"| the same for each final's first listener (room, replicator, Redis, hub read: "
        f"before the fan-out), p50 / p99 / max | {num(first['p50'])} / {num(first['p99'])} / "
        f"{num(first['max'])} ms ({first['count']} finals) |",
    ]

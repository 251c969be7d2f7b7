"""The summary table the benchmark prints, from its results."""

from __future__ import annotations

from typing import Any

from bench.report.fmt import num
from bench.report.pi_section import pi_budget_table


def table(results: dict[str, Any]) -> str:
    """The summary table for the terminal."""
    out: list[str] = []
    if "pipeline" in results:
        p = results["pipeline"]
        out += [
            "",
            "Pipeline overhead, audio frame -> subscriber (fsync on), ms",
            f"{'rooms':>5} {'subs':>5} {'p50':>8} {'p99':>8} {'max':>8} {'read p99':>9} "
            f"{'srv CPU%':>9} "
            f"{'load 1m':>12}",
        ]
        for c in p["cells"]:
            out.append(
                f"{c['rooms']:>5} {c['subscribers']:>5} {num(c['p50_ms']):>8} "
                f"{num(c['p99_ms']):>8} "
                f"{num(c['max_ms']):>8} {num(c.get('read_p99_ms')):>9} "
                f"{num(c['server_cpu_percent']):>9} "
                f"{','.join(num(x) for x in c['loadavg_1m']):>12}"
            )
        nf = p["target_cell_without_fsync"]
        out.append(
            f"target p99 <= {p['target']['p99_ms']} ms at {p['target']['cell']}: "
            f"{'met' if p['target_met'] else 'MISSED'} (without fsync: p99 "
            f"{num(nf['p99_ms'])} ms)"
        )
    if "listeners" in results:
        lis = results["listeners"]
        out += [
            "",
            "Listeners with speech, one room",
            f"{'listeners':>9} {'srv CPU%':>9} {'text p99':>9} {'speech p99':>11} "
            f"{'dropped':>8} {'spoken':>12}",
        ]
        for s in lis["steps"]:
            out.append(
                f"{s['listeners']:>9} {num(s['server_cpu_percent']):>9} "
                f"{num(s['text']['p99_ms']):>9} {num(s['speech_end']['p99_ms']):>11} "
                f"{s['dropped']:>8} {s['sentences_spoken']:>6}/{s['sentences_expected']:<5}"
            )
        out.append(
            f"sustained: {lis['sustained_listeners']} ({lis['limit']}); at "
            f"{lis['cpu_percent_per_listener']} % per listener, 50 % of a core is about "
            f"{lis['extrapolated_listeners_at_budget']} listeners"
        )
    if "resources" in results:
        r = results["resources"]
        out += [
            "",
            "CPU per room-hour and memory",
            f"{'':28} {'CPU s/h':>8} {'baseline MB':>12} {'MB/room':>8} {'MB/added room':>14}",
        ]
        for key, label in (("offline", "server, pocketsphinx"), ("cloud", "server, Transcribe")):
            e = r[key]
            out.append(
                f"{label:28} {num(e['cpu_s_per_room_hour']):>8} "
                f"{num(e['baseline_rss_mb']):>12} {num(e['rss_mb_per_room']):>8} "
                f"{num(e['rss_mb_per_added_room']):>14}"
            )
        a = r["edge_audio"]
        out.append(
            f"{'edge-audio run':28} {num(a.get('cpu_s_per_room_hour')):>8} "
            f"{num(a.get('rss_mb')):>12}"
        )
        out.append(
            f"targets: server baseline <= 80 MB {_ok(r['baseline_met'])}, <= 10 MB per "
            f"cloud room {_ok(r['per_room_met'])}, edge-audio <= 40 MB "
            f"{_ok(r['edge_audio_met'])}"
        )
    if "compare" in results:
        c = results["compare"]
        out += [
            "",
            f"Reference design vs edge-server ({c['subscribers']} subscribers, Transcribe fake)",
            f"{'':12} {'CPU %':>7} {'final p50':>10} {'final p99':>10} "
            f"{'stalled-sub p99':>16} {'finals delivered':>17} {'stalled closed':>15}",
        ]
        for name in ("ours", "reference"):
            n, s = c[name]["normal"], c[name]["slow"]
            out.append(
                f"{name:12} {num(n['server_cpu_percent']):>7} {num(n['final']['p50_ms']):>10}"
                f" {num(n['final']['p99_ms']):>10} {num(s['final']['p99_ms']):>16} "
                f"{s['finals_delivered']:>8}/{s['finals_expected']:<8} "
                f"{num(s['slow_close_code']):>15}"
            )
        out.append(
            "ratios reference/ours: "
            + ", ".join(f"{k} {num(v)}" for k, v in c["ratios_reference_over_ours"].items())
        )
    if "pi_budget" in results:
        out += pi_budget_table(results["pi_budget"])
    return "\n".join(out)


def _ok(flag: bool) -> str:
    return "met" if flag else "MISSED"

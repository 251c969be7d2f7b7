"""The summary table the benchmark prints, from its results."""

from __future__ import annotations

from typing import Any

from bench.report.fmt import num
from bench.report.glossary_section import glossary_table
from bench.report.hub_section import hub_relay_rows
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
    if "voice_screen" in results:
        out += voice_screen_rows(results["voice_screen"])
    if "audio_budget" in results:
        out += audio_budget_rows(results["audio_budget"])
    if "glossary_wer" in results:
        out += glossary_table(results["glossary_wer"])
    if "hub_relay" in results:
        out += hub_relay_rows(results["hub_relay"])
    return "\n".join(out)


def voice_screen_rows(v: dict[str, Any]) -> list[str]:
    """Voice to screen: partial and final latencies at full speed and at the Pi budget."""
    out = [
        "",
        "Voice to screen, kiosk in Chromium, embedded engine (s after the word / utterance end)",
        f"{'':18} {'words':>8} {'partial p50':>12} {'partial p95':>12} {'final p50':>10} "
        f"{'final p95':>10} {'finals':>7} {'srv CPU%':>9} {'throttled':>10}",
    ]
    for key, label in (("full", "full speed"), ("budget", f"Pi budget {v['pi_budget'] * 100:g} %")):
        r = v.get(key) or {}
        if "error" in r or not r:
            out.append(f"{label:18} not measured: {r.get('error', 'no run')}")
            continue
        q = r.get("quota") or {}
        throttled = f"{q['throttled_periods']}/{q['periods']}" if q else "-"
        out.append(
            f"{label:18} {r['matched_words']:>3}/{r['reference_words']:<4} "
            f"{num(r['partial']['p50_s']):>12} {num(r['partial']['p95_s']):>12} "
            f"{num(r['final']['p50_s']):>10} {num(r['final']['p95_s']):>10} "
            f"{r['finals_timed']:>3}/{r['finals']:<3} {num(r['server_cpu_percent']):>9} "
            f"{throttled:>10}"
        )
    alone = v.get("engine_alone")
    if alone:
        out.append(
            f"{'recognizer alone':18} {alone['matched_words']:>8} "
            f"{num(alone['partial']['p50_s']):>12} {num(alone['partial']['p95_s']):>12} "
            f"{num(alone['final']['p50_s']):>10} {num(alone['final']['p95_s']):>10}   "
            "(audio clock: no CPU limit, network or page)"
        )
    t = v["targets"]
    out.append(
        f"targets at full speed: partial p95 <= {num(t['partial_p95_s'])} s "
        f"{_ok(v['partial_target_met'])}, final p95 <= {num(t['final_p95_s'])} s "
        f"{_ok(v['final_target_met'])}"
    )
    return out


def audio_budget_rows(a: dict[str, Any]) -> list[str]:
    """The audio node inside the Pi-sized quota: CPU share of the budget and dropped audio."""
    out = ["", "edge-audio run (48 kHz stereo capture) at a Pi budget"]
    if "error" in a:
        return [*out, f"not measured: {a['error']}"]
    q, c = a["quota"], a["continuity"]
    out += [
        f"{'quota':>6} {'budget used':>12} {'throttled':>10} {'wall s':>7} {'received s':>11} "
        f"{'shortfall s':>12} {'behind max s':>13} {'gaps':>5} {'dropped':>8}",
        f"{format(q['fraction'] * 100, 'g') + ' %':>6} {100 * q['share_of_budget']:>10.1f} % "
        f"{str(q['throttled_periods']) + '/' + str(q['periods']):>10} {num(c['wall_s']):>7} "
        f"{num(c['received_s']):>11} {num(c['shortfall_s']):>12} {num(c['max_behind_s']):>13} "
        f"{num(a.get('gaps_reported')):>5} {'YES' if a['dropped'] else 'no':>8}",
    ]
    return out


def _ok(flag: bool | None) -> str:
    return "not measured" if flag is None else "met" if flag else "MISSED"

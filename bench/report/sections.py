"""The per-part sections of docs/performance.md; :mod:`bench.report.doc` puts them in order."""

from __future__ import annotations

from typing import Any

from bench.report.fmt import num
from bench.report.glossary_section import glossary_section
from bench.report.hub_section import hub_relay_section
from bench.report.pi_section import pi_budget_section


def _loads(runs: list[dict[str, Any]]) -> str:
    return ", ".join(num(r["loadavg"][0][0]) for r in runs)


def cpu_us_per_delivery(run: dict[str, Any]) -> float | None:
    """Server CPU per (caption, subscriber) delivery in a pipeline run, microseconds (audio
    frame handling included)."""
    if not run.get("deliveries"):
        return None
    cpu_s = run["server_cpu_percent"] / 100 * run["measured_s"]
    return round(cpu_s / run["deliveries"] * 1e6, 1)


def _cpu_us(cell: dict[str, Any]) -> float | None:
    values = sorted(v for r in cell["runs"] if (v := cpu_us_per_delivery(r)) is not None)
    return values[len(values) // 2] if values else None


def stages_table(found: dict[str, Any] | None) -> list[str]:
    """The table of bench/parts/stages.py's steps, for section 1."""
    if not found:
        return []
    rows = [f"| {k.replace('->', ' -> ')} | {num(v['p50_ms'])} | {num(v['max_ms'])} |"
            for k, v in found["steps"].items()]  # fmt: skip
    e2e = found["end_to_end"]
    return [
        f"Inside the server (bench/parts/stages.py: stamps from the product's pipeline trace "
        f"hook, 1 room x {found['subscribers']} subscribers, fsync on; end to end in that run: p50 "
        f"{num(e2e['p50_ms'])} ms, p99 {num(e2e['p99_ms'])} ms):",
        "",
        "| step | p50 ms | max ms |",
        "|---|---|---|",
        *rows,
        "",
    ]


def pipeline_section(p: dict[str, Any]) -> list[str]:
    """Pipeline overhead."""
    rows = [
        f"| {c['rooms']} | {c['subscribers']} | {num(c['p50_ms'])} | {num(c['p99_ms'])} | "
        f"{num(c['max_ms'])} | {num(c.get('read_p99_ms'))} | {num(c['server_cpu_percent'])} | "
        f"{num(_cpu_us(c))} | "
        f"{num(c['loadgen_cpu_percent'])} | {len(c['runs'])} | {_loads(c['runs'])} |"
        for c in p["cells"]
    ]
    big = [v for c in p["cells"] if c["subscribers"] >= 500 and (v := _cpu_us(c)) is not None]
    per = min(big) if big else None
    floor = None if per is None else round(per * 100 / 1000, 1)
    nf = p["target_cell_without_fsync"]
    return [
        "## 1. Pipeline overhead: audio frame -> caption at every subscriber",
        "",
        "![pipeline overhead](performance/pipeline.png)",
        "",
        "The real server (`create_app`, product settings, **fsync on**) in its own process, with a",
        "recognizer of fixed latency (bench/lib/engines.py): a *trigger* frame carries an id "
        "in its",
        f"first samples and becomes the final `m<id>` {num(p['recognizer_latency_ms'])} ms later",
        "(subtracted), so only our code is measured: the WebSocket read, the session, caption",
        "tracking, the transcript write and fsync (in a thread), fan-out and every WebSocket",
        "write. The load generator (another process) streams 100 ms frames in real time per room",
        f"and a trigger every 0.5 s ({num(p['captions_per_room_per_s'])} captions/s per room, "
        "rooms",
        "staggered). Its subscribers are raw sockets with kernel receive timestamps",
        "(`SO_TIMESTAMPNS`): the moment a caption reached the subscriber's socket, not the",
        "moment the load generator got round to reading it after its hundreds of other sockets",
        "(that later time is in the JSON as `read_p50_ms`/`read_p99_ms`).",
        "Latency = arrival at the subscriber - trigger frame send time, over every (caption, "
        f"subscriber) pair, {num(p['seconds_per_run'])} s per run after a 2 s warm-up; a cell on a",
        "busy machine is run twice, the target cell up to three times; the table shows the median.",
        "",
        "| rooms | subscribers/room | p50 ms | p99 ms | max ms | p99 as read ms | server CPU % "
        "| server CPU us per delivery | load generator CPU % | runs | load avg (1 min) per run |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Target cell without fsync (`fsync = false`): p50 {num(nf['p50_ms'])} ms, p99 "
        f"{num(nf['p99_ms'])} ms (load {_loads(nf['runs'])}). Every caption reached every "
        f"subscriber (missing deliveries: {sum(c['missing'] for c in p['cells'])}).",
        "",
        "**Fan-out.** The WebSocket frame of a caption is built once and written straight to",
        "every subscriber with nothing queued, nothing being sent and an empty socket buffer",
        "(edge_server/rooms/fanout.py, `DirectWriter`); anyone else is queued and drained by its",
        "own task, so order, back-pressure and the 4008 drop of a slow subscriber are unchanged.",
        "",
        "A figure that does not depend on how busy the machine is: the server's CPU time per",
        f"delivery, about {num(per)} us in the 500-subscriber cells (where the audio frames'",
        "share is negligible). Fanning one caption out to 100 subscribers is then "
        f"~{num(floor)} ms",
        "of CPU before the last of them has it; with the transcript write and the task",
        "wake-ups in the step table below, that is about the whole 5 ms budget even on an",
        "idle machine.",
        "",
        *stages_table(p.get("stages")),
        "Where the time goes: per caption the room writes the transcript line and fsyncs it in",
        "a worker thread (`asyncio.to_thread`, a thread hop each way) before anyone sees it, then",
        "writes its frame to every idle subscriber's socket (queueing it for the others). The",
        "last subscriber of a room waits for all the others: the cost grows linearly with",
        "subscribers per room, and captions of rooms that finalize at the same moment queue",
        "behind each other on the single event loop. On a loaded machine every one of these",
        "steps also",
        "waits for a CPU, which is what the p99 column mostly shows when the load average is",
        "high.",
        "",
    ]


def listeners_section(lis: dict[str, Any]) -> list[str]:
    """Listener fan-out with speech."""
    rows = [
        f"| {s['listeners']} | {num(s['server_cpu_percent'])} | {num(s['loadgen_cpu_percent'])} | "
        f"{num(s['text']['p99_ms'])} | {num(s['speech_end']['p99_ms'])} | "
        f"{num(s['speech_lag_growth_ms'])} | {s['dropped']} | {s['sentences_spoken']}/"
        f"{s['sentences_expected']} | {num(s['pcm_mb_received'])} | {num(s['server_rss_mb'])} | "
        f"{num(s['loadavg'][0][0])} |"
        for s in lis["steps"]
    ]
    return [
        "## 2. Listener fan-out: phones receiving text and 16 kHz speech",
        "",
        "![listeners](performance/listeners.png)",
        "",
        "One room with a translator (`it`) and a synthesizer that returns 2 s of PCM per",
        "sentence in 16000-byte chunks; one sentence every 2 s, so speech is continuous:",
        "32 kB/s of PCM per listener. Listeners join with `?lang=it&audio=1` and receive the",
        "final, then `speech`, the PCM chunks and `speech_end`. The count doubles until the",
        f"server process needs more than {num(lis['cpu_budget_percent'])} % of one core or a",
        "listener falls behind (dropped with 4008, a sentence missing, or its speech arriving",
        "later and later: growth of the `speech_end` lag over the run above 250 ms).",
        "",
        "| listeners | server CPU % | load generator CPU % | text p99 ms | speech_end p99 ms | "
        "lag growth ms | dropped | sentences | PCM MB received | server MB | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"**Sustained: {lis['sustained_listeners']} listeners** ({lis['limit']}). The server",
        f"spends about {num(lis['cpu_percent_per_listener'])} % of a core per listener, so 50 % of",
        f"one core would carry about {num(lis['extrapolated_listeners_at_budget'])}; past a few",
        "thousand the single-process load generator (which has to read all that PCM in Python)",
        "and the shared machine limit the test before the server does. Synthesis runs once per",
        "room and language whatever the number of listeners; the cost per listener is the",
        "queueing and socket writes of 6 messages per sentence.",
        "",
    ]


def resources_section(r: dict[str, Any]) -> list[str]:
    """CPU per room-hour and memory."""
    rows = []
    for key, label in (("offline", "pocketsphinx (offline)"), ("cloud", "Transcribe (fake)")):
        for run in r[key]["runs"]:
            rows.append(
                f"| {label} | {run['rooms']} | {num(run['audio_s'])} | "
                f"{num(run['cpu_s_per_room_hour'])} | {num(run['idle_rss_mb'])} | "
                f"{num(run['server_rss_mb'])} | "
                f"{num(run.get('server_main_rss_mb'))} | {num(run.get('server_pss_mb'))} | "
                f"{run['finals']} | {num(run['loadavg'][0][0])} |"
            )
    a = r["edge_audio"]
    cloud = r["cloud"]
    return [
        "## 3. CPU per room-hour and memory",
        "",
        "![resources](performance/resources.png)",
        "",
        "edge-server in its own process with the engines its settings name, fed the LibriVox",
        "recordings (looped) in real time in 100 ms frames, one kiosk subscriber per room. CPU",
        "is user + system time of the server and its children (one pocketsphinx worker process",
        "per offline room) over the streamed period, scaled to one hour of audio per room.",
        "Memory is resident memory (VmRSS, summed over the process tree; PSS, which does not",
        "count shared libraries twice, beside it), idle before any room, and while streaming.",
        "The cloud rooms run the real Amazon Transcribe SDK through the product's adapter",
        "against the local HTTP/2 + TLS fake (tests/fakes), reached through the standard",
        "`AWS_*` variables; the fake hears a word per 100 ms block, so it returns about 10",
        "partials a second, more than the real service.",
        "",
        "| engine | rooms | audio s | CPU s per room-hour | idle MB | streaming MB (tree RSS) "
        "| main process MB | tree PSS MB | finals | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Cloud rooms: the first room loads the AWS SDKs (awscrt, boto3) once, so memory is "
        f"the idle {num(cloud['baseline_rss_mb'])} MB, plus a one-time ~"
        f"{num(round(cloud['rss_mb_per_room'] - (cloud['rss_mb_per_added_room'] or 0), 1))} MB "
        f"for the SDKs, plus {num(cloud['rss_mb_per_added_room'])} MB per room. An offline room "
        f"adds its own pocketsphinx worker process (~{num(r['offline']['rss_mb_per_room'])} MB "
        "resident, the acoustic model and a Python interpreter).",
        "",
        f"edge-audio (`edge-audio run` capturing a PipeWire monitor at 48 kHz stereo, as "
        f"bench/standalone/edge_audio_cpu.py): {num(a.get('cpu_percent_of_one_core'))} % "
        "of one core = "
        f"{num(a.get('cpu_s_per_room_hour'))} CPU s per hour, {num(a.get('rss_mb'))} MB resident "
        f"(peak {num(a.get('peak_rss_mb'))} MB).",
        "",
        "Why edge-audio misses 40 MB (measured by importing its modules one by one in a fresh",
        "interpreter): Python itself ~9 MB, numpy ~21 MB (with OpenBLAS), sounddevice ~21 MB",
        "(cffi, PortAudio and the ALSA/PipeWire plugins it loads when it initializes),",
        "websockets ~8 MB (asyncio, ssl), soundfile ~5 MB. Reaching 40 MB needs numpy out",
        "of the capture path (the array module and audioop-style integer mixing, or soxr's",
        "own buffers) or capture through `pw-record`/`parec` in a child process instead of",
        "PortAudio in-process; neither is a small change, so the target is reported as missed.",
        "",
    ]


def compare_section(c: dict[str, Any]) -> list[str]:
    """The reference design side by side."""
    rows = []
    for name, label in (("ours", "edge-server"), ("reference", "reference (FastAPI + SDK)")):
        n, s = c[name]["normal"], c[name]["slow"]
        rows.append(
            f"| {label} | {num(n['server_cpu_percent'])} | {num(n['partial']['p99_ms'])} | "
            f"{num(n['final']['p50_ms'])} | {num(n['final']['p99_ms'])} | "
            f"{num(s['final']['p99_ms'])} | {num(s['final']['max_ms'])} | {s['finals_delivered']}/"
            f"{s['finals_expected']} | {num(s['slow_close_code'])} | "
            f"{num(n['loadavg'][0][0])}, {num(s['loadavg'][0][0])} |"
        )
    ratios = c["ratios_reference_over_ours"]
    return [
        "## 4. The reference design, side by side",
        "",
        "![comparison](performance/compare.png)",
        "",
        "bench/reference/app.py reproduces the reference design's approach: a FastAPI server",
        "(uvicorn), WebSocket audio in, the plain `amazon-transcribe` SDK used as its README",
        "shows, and each caption sent to the subscribers one after the other",
        "(`for ws in subscribers: await ws.send_text(...)`). Only the endpoint (the local fake)",
        "and the CA it trusts differ from the SDK's defaults. Both servers get the same audio",
        "(frames the fake hears as words, 8 words then 2 silent frames per second) and the same",
        f"{c['subscribers']} subscribers; a partial is timed from the frame of its last word, a",
        "final from the silent frame that ends it. Then the same with one subscriber that stops",
        "reading (4 KiB receive buffer, 1400-byte TCP segments as on Wi-Fi: loopback's 64 KiB",
        "segments would let the kernel buffer megabytes), streamed at 10x real time so its",
        "buffers fill within the run.",
        "",
        "| server | CPU % (one stream) | partial p99 ms | final p50 ms | final p99 ms | "
        "stalled: final p99 ms | stalled: final max ms | stalled: finals delivered | stalled "
        "one closed with | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Ratios, reference / edge-server: "
        + ", ".join(f"{k} **{num(v)}x**" for k, v in ratios.items())
        + ".",
        "",
        "The reference's CPU is the SDK's input loop polling the audio queue without waiting",
        "(bench/standalone/transcribe_cpu.py measures ~100 % of a core on a quiet machine; "
        "less here when",
        "other processes take their share). With a subscriber that stops reading, sequential",
        "sends block on it once its socket and transport buffers are full: every other",
        "subscriber (and the handler reading Transcribe results) waits until the keepalive",
        f"timeout closes it (1011); here they got {c['reference']['slow']['finals_delivered']} of",
        f"{c['reference']['slow']['finals_expected']} finals. edge-server's per-subscriber",
        "queues keep the others on time and close the stalled one with 4008 once its queue",
        "is full.",
        "",
    ]


def _voice_rows(v: dict[str, Any]) -> list[str]:
    rows = []
    for key, label in (("full", "full speed"), ("budget", f"Pi budget ({_pct(v['pi_budget'])})")):
        r = v.get(key) or {}
        if "error" in r or not r:
            rows.append(f"| {label} | not measured: {r.get('error', 'no run')} |" + " |" * 10)
            continue
        q = r.get("quota") or {}
        quota = (
            f"{100 * q['share_of_budget']:.0f} %, {q['throttled_periods']}/{q['periods']}"
            if q
            else "-"
        )
        halves = r["partial_p50_s_by_half"]
        rows.append(
            f"| {label} | {r['matched_words']}/{r['reference_words']} "
            f"({r['recognized_words']} recognized) | {num(r['partial']['p50_s'])} | "
            f"{num(r['partial']['p95_s'])} | {num(r['partial']['max_s'])} | "
            f"{num(halves[0])} -> {num(halves[1])} | {num(r['final']['p50_s'])} | "
            f"{num(r['final']['p95_s'])} | {r['finals_timed']}/{r['finals']} | "
            f"{num(r['server_cpu_percent'])} | {quota} | {num(r['loadavg'][0][0])} |"
        )
    return rows


def _voice_split(v: dict[str, Any]) -> list[str]:
    """Server side (a plain subscriber's socket) against the page, per run."""
    rows = []
    for key, label in (("full", "full speed"), ("budget", f"Pi budget ({_pct(v['pi_budget'])})")):
        r = v.get(key) or {}
        sock = r.get("socket")
        if not sock:
            continue
        rows.append(
            f"| {label} | {num(sock['partial']['p50_s'])} | {num(sock['partial']['p95_s'])} | "
            f"{num(sock['final']['p50_s'])} | {num(sock['final']['p95_s'])} | "
            f"{num(r['partial']['p50_s'])} | {num(r['partial']['p95_s'])} | "
            f"{num(r['final']['p50_s'])} | {num(r['final']['p95_s'])} |"
        )
    alone = v.get("engine_alone")
    if alone:
        rows.append(
            f"| recognizer alone (audio clock) | {num(alone['partial']['p50_s'])} | "
            f"{num(alone['partial']['p95_s'])} | {num(alone['final']['p50_s'])} | "
            f"{num(alone['final']['p95_s'])} | | | | |"
        )
    if not rows:
        return []
    return [
        "Where the time goes: the same caption messages stamped by a plain WebSocket subscriber",
        "in the benchmark's process (what the server delivered, and when; stamped by the",
        "benchmark's event loop, so on a busy machine sometimes a little late) against the",
        "page; and",
        "the recognizer alone: the product's streaming decoder (default settings) fed the same",
        "100 ms frames in the benchmark's process as fast as it goes, each result stamped with",
        "the audio clock (the end of the frame that produced it), so no CPU limit, no network,",
        "no page: its endpointer's window, its partial cadence and its search's own lag.",
        "",
        "| run | subscriber: partial p50 | partial p95 | final p50 | final p95 | page: partial "
        "p50 | partial p95 | final p50 | final p95 |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def voice_screen_section(v: dict[str, Any]) -> list[str]:
    """Voice to screen: real speech to words on the kiosk, at full speed and at the Pi budget."""
    t = v["targets"]
    full = v["full"]
    return [
        "## 6. Voice to screen: a spoken word -> the kiosk shows it",
        "",
        "Real speech with known word timings played into the system, and the moment each word",
        "shows on a kiosk page in a real Chromium. The speech: the "
        f"{len(set(v['files']))} LibriVox recordings played "
        f"{len(v['files']) // max(1, len(set(v['files'])))} time(s) "
        f"({num(v['speech_s'])} s, 1 s of silence after each),",
        "each word's start and end from a pocketsphinx forced alignment of the clean file",
        "against its transcript (bench/lib/speechref.py). It goes through the audio uplink in",
        f"{v['frame_ms']} ms frames in real time, each frame sent when its last sample has been",
        "spoken, as a live node sends it, and stamped with `time.time()`. The server is the real",
        "one (`create_app`, product settings, the embedded pocketsphinx engine, fsync on) in its",
        "own process. The kiosk page runs in Debian's Chromium (Playwright, headless, as in",
        "tests/web); a `MutationObserver` installed before the page's scripts records",
        "`Date.now()` whenever a partial or final line's text changes (bench/lib/kioskwatch.py):",
        "the same wall clock on one machine. bench/lib/wordtiming.py aligns the recognized",
        "words (the finals, in order) with the reference words by edit distance, as WER is",
        "computed; only words the recognizer got right are timed, and the table says how many.",
        "",
        "- **partial**: a word's first appearance on screen (in a partial, or with its final if",
        "  no partial showed it) minus the moment its end was spoken;",
        "- **final**: a final's appearance minus the end of its last word (where the pause",
        "  begins), for finals whose last word was recognized right.",
        "",
        f"At the **Pi budget** the server and its recognizer worker run in a CPU quota of "
        f"{_pct(v['pi_budget'])} of one core",
        "(bench/lib/cpuquota.py; the reason for 20 % is in the Pi-budget section); Chromium",
        f"does not (the display is another device). Latencies in seconds. {_machine(v)}",
        "",
        "| run | words matched | partial p50 | partial p95 | partial max | partial p50, first "
        "half -> second half | final p50 | final p95 | finals timed | server CPU % | quota: "
        "budget used, throttled periods | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *_voice_rows(v),
        "",
        f"Targets at full speed (checked on the p95): a word on screen within "
        f"{num(t['partial_p95_s'])} s of its end: "
        f"**{_met(v['partial_target_met'])}** ({num(full.get('partial', {}).get('p95_s'))} s); "
        "a final "
        f"within {num(t['final_p95_s'])} s of the pause: **{_met(v['final_target_met'])}** "
        f"({num(full.get('final', {}).get('p95_s'))} s). At the Pi budget: reported, no target.",
        "",
        *_voice_split(v),
        "What the figures include: the node's framing (a word's end waits for the end of its",
        "100 ms frame), the recognizer's partial cadence and its endpointer (a final needs a",
        "stretch of silence to be sure the sentence ended), the transcript write and fsync, the",
        "WebSocket to the page and the page's own update; not the display's refresh (the stamp",
        "is the DOM change, up to one frame, 17 ms, before it is painted). A word's first",
        "appearance is the first partial whose words, aligned with its final's, include it; a",
        "word the recognizer first got wrong and corrected later counts from the correction.",
        "",
    ]


def _pct(fraction: float) -> str:
    """A share of one core as the docs write it: ``20 %``."""
    return f"{fraction * 100:g} %"


def _machine(part: dict[str, Any]) -> str:
    """Which machine a part ran on (the parts of one document may come from different runs)."""
    m = part.get("machine")
    if not m:
        return ""
    return f"Measured on {m['cpu']}, {m['cores']} cores, Linux {m['kernel']}."


def _met(flag: bool | None) -> str:
    return "not measured" if flag is None else "met" if flag else "missed"


def audio_budget_section(a: dict[str, Any]) -> list[str]:
    """The audio node inside a Pi-sized CPU quota."""
    head = [
        "## 7. The audio node at a Pi budget",
        "",
        "`edge-audio run` as systemd runs it (environment file, notify socket), capturing the",
        "monitor of a PipeWire null sink at 48 kHz stereo while LibriVox speech plays into it,",
        "converting to 16 kHz mono and streaming to a local edge-server, with the node's process",
        f"in a CPU quota of {_pct(a['quota'] if 'error' in a else a['quota']['fraction'])} of "
        "one core (bench/standalone/edge_audio_cpu.py --quota; the private PipeWire and the "
        f"server run outside it). {_machine(a)}",
        "Dropped audio is looked for three ways: the seconds of audio the server received",
        "(read from `/healthz` twice a second) against the wall clock, since audio the node",
        "fails to capture in time never arrives (bench/lib/continuity.py); the node's own",
        "`gap` reports (audio its outage buffer had to drop); and any warning it logged.",
        "",
    ]
    if "error" in a:
        return [*head, f"Not measured: {a['error']}.", ""]
    q, c = a["quota"], a["continuity"]
    return [
        *head,
        "| quota | measured s | CPU s | share of the budget | throttled periods | throttled s "
        "| audio received s | shortfall s | most behind s | gaps reported | warnings | audio "
        "dropped | resident MB | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {_pct(q['fraction'])} | {num(a['measured_s'])} | {num(q['cpu_s'])} | "
        f"{100 * q['share_of_budget']:.1f} % | {q['throttled_periods']}/{q['periods']} | "
        f"{num(q['throttled_s'])} | {num(c['received_s'])} | {num(c['shortfall_s'])} | "
        f"{num(c['max_behind_s'])} | {num(a.get('gaps_reported'))} | "
        f"{len(a['node_warnings'])} | {'**yes**' if a['dropped'] else 'no'} | "
        f"{num(a['rss_mb'])} | {num(a['loadavg'][0][0])} |",
        "",
        f"Share of the budget = CPU seconds / ({q['fraction']:g} x wall seconds), from the",
        "quota's own accounting (cpuacct on cgroup v1, `cpu.stat` on v2). The node needs",
        f"{100 * q['share_of_budget']:.0f} % of a Pi core's budget here; a shortfall within "
        "0.3 s (the server reports tenths of a second, and a frame may be in flight at either",
        "end) counts as none.",
        "",
    ]


def sections(results: dict[str, Any]) -> list[str]:
    """Every section there are results for, then the settings note."""
    out: list[str] = []
    for key, make in (
        ("pipeline", pipeline_section),
        ("listeners", listeners_section),
        ("resources", resources_section),
        ("compare", compare_section),
        ("pi_budget", pi_budget_section),
        ("voice_screen", voice_screen_section),
        ("audio_budget", audio_budget_section),
        ("glossary_wer", glossary_section),
        ("hub_relay", hub_relay_section),
    ):
        if key in results:
            out += make(results[key])
    out += [
        "## Settings the benchmark changes",
        "",
        "Product defaults everywhere (fsync on, `subscriber_queue = 256`, heartbeats), except:",
        "`connect_burst` and `connect_rate` raised to 100000 (every client of the benchmark",
        "comes from 127.0.0.1; the per-address limit would refuse them); the pipeline's target",
        "cell is also run with `fsync = false`, shown separately; the deterministic engines of",
        "bench/lib/engines.py replace the recognizer, translator and synthesizer where a section",
        "says so. State directories are fresh temporary directories on the machine's disk.",
        "The hub part raises the open-file limit (`RLIMIT_NOFILE`) of itself and its children",
        "to the hard limit, and the hubs' `connect_burst` and `connect_rate` as above.",
        "",
    ]
    return out

"""The voice-to-screen and audio-node parts' results become the printed table, the targets and
their sections of docs/performance.md (bench/report/). Made-up results; nothing is measured."""

from __future__ import annotations

import copy
from typing import Any

from bench.report.doc import document
from bench.report.table import table
from tests.bench.made_up import MACHINE


def _run(quota: float | None, partial_p95: float, final_p95: float) -> dict[str, Any]:
    return {
        "cpu_quota": quota,
        "reference_words": 30,
        "recognized_words": 31,
        "matched_words": 23,
        "matched_seen_in_partial": 22,
        "finals": 2,
        "finals_timed": 2,
        "partial": {"count": 23, "p50_s": 0.4, "p95_s": partial_p95, "max_s": 1.5},
        "final": {"count": 2, "p50_s": 0.6, "p95_s": final_p95, "max_s": final_p95},
        "word_final": {"count": 23, "p50_s": 2.0, "p95_s": 5.0, "max_s": 6.0},
        "partial_p50_s_by_half": [0.4, 0.45],
        "server_cpu_percent": 9.8,
        "quota": None
        if quota is None
        else {
            "fraction": quota,
            "cpu_s": 2.0,
            "share_of_budget": 0.486,
            "periods": 193,
            "throttled_periods": 76,
            "throttled_s": 5.3,
        },
        "loadavg": [[0.5, 0.5, 0.5], [0.6, 0.5, 0.5]],
    }


VOICE = {
    "files": ["a", "b", "a", "b"],
    "speech_s": 24.2,
    "frame_ms": 100,
    "pi_budget": 0.2,
    "targets": {"partial_p95_s": 0.5, "final_p95_s": 1.0},
    "full": _run(None, 1.09, 0.78),
    "budget": _run(0.2, 1.3, 0.97),
    "engine_alone": {
        "matched_words": 54,
        "finals_timed": 3,
        "finals": 5,
        "partial": {"count": 54, "p50_s": 0.49, "p95_s": 0.97, "max_s": 3.3},
        "final": {"count": 3, "p50_s": 0.76, "p95_s": 0.84, "max_s": 0.84},
    },
    "partial_target_met": False,
    "final_target_met": True,
    "machine": MACHINE,
}
AUDIO = {
    "measured_s": 60.0,
    "continuity": {
        "wall_s": 60.0,
        "received_s": 60.0,
        "shortfall_s": 0.0,
        "shortfall_percent": 0.0,
        "lost": False,
        "max_behind_s": 0.18,
        "longest_stall_s": 0.0,
    },
    "gaps_reported": 0,
    "node_warnings": [],
    "rss_mb": 73.4,
    "quota": {
        "fraction": 0.2,
        "cpu_s": 0.45,
        "share_of_budget": 0.039,
        "periods": 600,
        "throttled_periods": 0,
        "throttled_s": 0.0,
    },
    "dropped": False,
    "loadavg": [[0.5, 0.5, 0.5], [0.6, 0.5, 0.5]],
    "machine": MACHINE,
}


def test_the_table_shows_both_runs_and_the_verdicts() -> None:
    text = table({"voice_screen": VOICE, "audio_budget": AUDIO})
    lines = text.splitlines()
    full = next(line for line in lines if line.startswith("full speed"))
    budget = next(line for line in lines if line.startswith("Pi budget 20 %"))
    assert full.split()[2:7] == ["23/30", "0.4", "1.09", "0.6", "0.78"]
    assert "76/193" in budget
    alone = next(line for line in lines if line.startswith("recognizer alone"))
    assert alone.split()[2:7] == ["54", "0.49", "0.97", "0.76", "0.84"]
    assert "partial p95 <= 0.5 s MISSED, final p95 <= 1 s met" in text
    assert lines[-1].split() == [
        "20",
        "%",
        "3.9",
        "%",
        "0/600",
        "60",
        "60",
        "0",
        "0.18",
        "0",
        "no",
    ]


def test_the_doc_has_the_targets_and_both_sections() -> None:
    doc = document({"machine": MACHINE, "voice_screen": VOICE, "audio_budget": AUDIO}, "table")
    assert "| voice to screen at full speed: a word shown <= 0.5 s after it ends (p95) |" in doc
    assert "| missed |" in doc
    assert "| edge-audio drops no audio at 20 % of one core |" in doc
    assert "Voice to screen: a spoken word -> the kiosk shows it" in doc
    assert "| Pi budget (20 %) | 23/30 (31 recognized) |" in doc
    assert "| recognizer alone (audio clock) | 0.49 | 0.97 | 0.76 | 0.84 |" in doc
    assert "The audio node at a Pi budget" in doc
    assert "| 20 % | 60 | 0.45 | 3.9 % | 0/600 |" in doc


def test_a_part_that_could_not_run_says_why() -> None:
    voice = copy.deepcopy(VOICE)
    voice["budget"] = {"error": "a CPU quota needs root"}
    audio = {"error": "a CPU quota needs root", "quota": 0.2, "seconds": 60.0, "machine": MACHINE}
    text = table({"voice_screen": voice, "audio_budget": audio})
    assert "Pi budget 20 %     not measured: a CPU quota needs root" in text
    assert text.endswith("not measured: a CPU quota needs root")
    doc = document({"machine": MACHINE, "voice_screen": voice, "audio_budget": audio}, "table")
    assert "Not measured: a CPU quota needs root." in doc


def test_without_a_browser_neither_run_is_measured() -> None:
    voice = copy.deepcopy(VOICE)
    voice["full"] = voice["budget"] = {"error": "no Chromium at /usr/bin/chromium"}
    voice["partial_target_met"] = voice["final_target_met"] = None
    text = table({"voice_screen": voice})
    assert "full speed         not measured: no Chromium at /usr/bin/chromium" in text
    assert "partial p95 <= 0.5 s not measured, final p95 <= 1 s not measured" in text
    doc = document({"machine": MACHINE, "voice_screen": voice}, "table")
    assert (
        "| voice to screen at full speed | no Chromium at /usr/bin/chromium | not measured |" in doc
    )
    assert "a word on screen within 0.5 s of its end: **not measured** (- s)" in doc

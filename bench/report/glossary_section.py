"""The glossary's word error rate (bench/parts/glossary_wer.py) in the table and the doc."""

from __future__ import annotations

from typing import Any

from bench.report.fmt import num

CONDITIONS = (
    ("none", "no glossary"),
    ("corrections", "corrections and capitals on finals"),
    ("engine", "the same + the glossary taught to the recognizer"),
)


def _accuracy(found: dict[str, Any]) -> str:
    if found.get("name_accuracy") is None:
        return "no names"
    return f"{100 * found['name_accuracy']:.0f} % ({found['names_right']}/{found['names_total']})"


def glossary_table(g: dict[str, Any]) -> list[str]:
    """Lines for the terminal table."""
    out = [
        "",
        f"Glossary and WER, embedded engine, test clips (weight {num(g['weight'])})",
        f"{'condition':<14} {'WER':>6} {'flite':>6} {'LibriVox':>9} {'names right':>18}",
    ]
    for key, _ in CONDITIONS:
        c = g["conditions"][key]
        out.append(
            f"{key:<14} {num(c['all']['wer']):>6} {num(c.get('flite', {}).get('wer')):>6} "
            f"{num(c.get('librivox', {}).get('wer')):>9} {_accuracy(c['all']):>18}"
        )
    return out


def glossary_section(g: dict[str, Any]) -> list[str]:
    """The doc's section."""
    rows = []
    for key, label in CONDITIONS:
        c = g["conditions"][key]
        rows.append(
            f"| {label} | {num(c['all']['wer'])} | {num(c.get('flite', {}).get('wer'))} | "
            f"{num(c.get('librivox', {}).get('wer'))} | {_accuracy(c['all'])} |"
        )
    sweep = g.get("weight_sweep_on_train") or {}
    sweep_text = (
        "; on the train clips: "
        + ", ".join(f"weight {w}: WER {num(s['wer'])}" for w, s in sweep.items())
        if sweep
        else " (the product's default; a quick run does not sweep)"
    )
    corrections = ", ".join(f'"{h}" = "{w}"' for h, w in g["corrections"].items())
    examples = [
        f'- `{e["clip"]}`: reference "{e["reference"]}"; none "{e["none"]}"; '
        f'corrections "{e["corrections"]}"; engine "{e["engine"]}"'
        for e in g["examples"]
        if "John" in e["reference"] or e["clip"].startswith("test-01")
    ]
    return [
        "## The glossary and the embedded engine's WER",
        "",
        f"bench/parts/glossary_wer.py ({_run(g)}): the real recognizer (worker process, "
        "`accurate` search) on speech full of the names of *Sense and Sensibility*: "
        f"{len(g['test_clips'])} test clips (sentences spoken by flite, voices "
        f"{', '.join(g['voices'])}, and the five LibriVox recordings of a human reader). The "
        f"glossary: the book's {len(g['terms'])} names as terms, and {len(g['corrections'])} "
        f"corrections derived from the recognizer's mistakes on {len(g['train_clips'])} "
        "*train* clips (other sentences, no overlap with the test clips). WER: "
        "case-insensitive words; names right: the reference's names at the same place with "
        "the same capitals. The figures do not depend on the machine's load (a fixed search, "
        "audio fed as fast as the recognizer takes it). Reproduce: `python -m bench --only "
        "glossary_wer` (`--quick`: one voice, no weight sweep); docs/glossary.md explains it.",
        "",
        "| condition | WER | WER flite | WER LibriVox | names right (with capitals) |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"Weight of the taught words: {num(g['weight'])}{sweep_text}.",
        "",
        f"Corrections derived on the train clips: {corrections or 'none'}.",
        "",
        *examples,
        "",
    ]


def _run(g: dict[str, Any]) -> str:
    load = g.get("machine", {}).get("loadavg_at_start", [None])[0]
    return f"{'quick' if g.get('quick') else 'full'} run, load {num(load)}"

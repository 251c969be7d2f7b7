"""The PNG plots of docs/performance.md (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def pipeline_plot(data: dict[str, Any], path: Path) -> None:
    """p50 and p99 against subscribers per room, one line per room count; the target."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    cells = data["cells"]
    for rooms in sorted({c["rooms"] for c in cells}):
        row = sorted((c for c in cells if c["rooms"] == rooms), key=lambda c: c["subscribers"])
        subs = [c["subscribers"] for c in row]
        (line,) = ax.plot(subs, [c["p99_ms"] for c in row], marker="o", label=f"{rooms} rooms p99")
        ax.plot(subs, [c["p50_ms"] for c in row], marker=".", linestyle="--",
                color=line.get_color(), label=f"{rooms} rooms p50")  # fmt: skip
    target = data["target"]
    ax.axhline(target["p99_ms"], color="red", linewidth=0.8, linestyle=":")
    ax.annotate(f"target p99 {target['p99_ms']} ms at {target['cell'][0]} rooms x "
                f"{target['cell'][1]}", (10, target["p99_ms"]), color="red", fontsize=8,
                xytext=(0, 3), textcoords="offset points")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("subscribers per room")
    ax.set_ylabel("frame -> subscriber, ms (fsync on)")
    ax.set_title("Pipeline overhead (fixed-latency recognizer)")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def listeners_plot(data: dict[str, Any], path: Path) -> None:
    """Server CPU and speech lag against listeners; the CPU budget."""
    steps = data["steps"]
    xs = [s["listeners"] for s in steps]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(xs, [s["server_cpu_percent"] for s in steps], marker="o", label="server CPU %")
    ax.axhline(data["cpu_budget_percent"], color="red", linewidth=0.8, linestyle=":")
    ax.set_xscale("log")
    ax.set_xlabel("listeners (text + 16 kHz speech, continuous)")
    ax.set_ylabel("server CPU, % of one core")
    ax2 = ax.twinx()
    ax2.plot(xs, [s["speech_end"]["p99_ms"] for s in steps], marker="s", color="tab:orange",
             label="sentence fully delivered, p99 ms")  # fmt: skip
    ax2.set_ylabel("trigger -> speech_end p99, ms")
    ax.set_title("One room, listeners with speech")
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + ax2.get_legend_handles_labels()[1]
    ax.legend(lines, labels, fontsize=8, loc="upper left")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def resources_plot(data: dict[str, Any], path: Path) -> None:
    """CPU seconds per hour of audio and resident memory, side by side."""
    names, cpu, mem = [], [], []
    for key, label in (("offline", "server, pocketsphinx room"), ("cloud", "server, cloud room")):
        if key in data:
            names.append(label)
            cpu.append(data[key]["cpu_s_per_room_hour"])
            mem.append(data[key]["rss_mb_per_added_room"] or data[key]["rss_mb_per_room"])
    audio = data.get("edge_audio", {})
    if "cpu_s_per_room_hour" in audio:
        names.append("edge-audio")
        cpu.append(audio["cpu_s_per_room_hour"])
        mem.append(audio["rss_mb"])
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.8))
    a.barh(names, cpu, color="tab:blue")
    a.set_xlabel("CPU seconds per hour of audio")
    b.barh(names, mem, color="tab:green")
    b.set_xlabel("MB resident (per room; edge-audio: whole process)")
    b.set_yticklabels([])
    for axis, values in ((a, cpu), (b, mem)):
        for i, v in enumerate(values):
            axis.annotate(f"{v:g}", (v, i), xytext=(3, -3), textcoords="offset points", fontsize=8)
    fig.suptitle("CPU per room-hour and memory")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def compare_plot(data: dict[str, Any], path: Path) -> None:
    """This server against the reference design: CPU, latency, with a stalled subscriber."""
    ours, ref = data["ours"], data["reference"]
    labels = ["CPU % (one stream)", "final p99 ms", "final p99 ms,\nstalled subscriber"]

    def values(run: dict[str, Any]) -> list[float]:
        return [run["normal"]["server_cpu_percent"], run["normal"]["final"]["p99_ms"] or 0,
                run["slow"]["final"]["p99_ms"] or 0]  # fmt: skip

    fig, ax = plt.subplots(figsize=(7, 4))
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], values(ours), width=0.4, label="edge-server")
    ax.bar([x + 0.2 for x in xs], values(ref), width=0.4, label="reference (FastAPI + SDK)")
    ax.set_xticks(list(xs), labels)
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.set_title(f"Same audio and {data['subscribers']} subscribers (Transcribe fake)")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

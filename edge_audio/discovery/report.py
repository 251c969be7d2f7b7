"""What ``edge-audio devices`` prints: the ranking as text or JSON. Pure."""

from __future__ import annotations

from typing import Any

from edge_audio.discovery.ranking import Candidate, Ranking


def candidate_json(candidate: Candidate, chosen: bool) -> dict[str, Any]:
    """One candidate as a JSON object."""
    return {
        "chosen": chosen,
        "backend": candidate.backend,
        "target": candidate.target,
        "name": candidate.name,
        "description": candidate.description,
        "channels": candidate.channels,
        "rate": candidate.rate,
        "monitor": candidate.monitor,
        "object_serial": candidate.serial,
        "object_id": candidate.node_id,
        "usb": candidate.usb,
        "eligible": candidate.eligible,
        "score": candidate.score,
        "reasons": list(candidate.reasons),
    }


def ranking_json(ranking: Ranking, pipewire_note: str) -> dict[str, Any]:
    """The whole ranking (``devices --json``): candidates best first, and the choice."""
    chosen = ranking.chosen
    return {
        "preference": ranking.preference.text,
        "pipewire": ranking.pipewire,
        "pipewire_note": pipewire_note,
        "chosen": candidate_json(chosen, True) if chosen is not None else None,
        "candidates": [candidate_json(c, c is chosen) for c in ranking.candidates],
    }


def ranking_text(ranking: Ranking, pipewire_note: str) -> str:
    """The ranking for people: one block per candidate with its reasons, then the choice."""
    chosen = ranking.chosen
    lines = [
        f"PipeWire: {pipewire_note}",
        f"preference: {ranking.preference.text!r}",
        "",
    ]
    for number, candidate in enumerate(ranking.candidates, start=1):
        mark = "*" if candidate is chosen else " "
        rate = f"{candidate.rate} Hz" if candidate.rate else "rate ?"
        serial = f", serial {candidate.serial}" if candidate.serial is not None else ""
        monitor = ", monitor" if candidate.monitor else ""
        lines.append(
            f"{mark}{number:2d}. [{candidate.score:4d}] {candidate.backend}: {candidate.target}"
        )
        lines.append(
            f"       {candidate.description} ({candidate.channels} ch, {rate}{serial}{monitor})"
        )
        lines.extend(f"       {reason}" for reason in candidate.reasons)
    if not ranking.candidates:
        lines.append("no capture candidates at all")
    lines.append("")
    if chosen is None:
        lines.append(f"chosen: nothing matches {ranking.preference.text!r}")
    else:
        lines.append(f"chosen: {chosen.label}")
        if chosen.backend == "pipewire":
            lines.append(
                f"  opened with PIPEWIRE_NODE={chosen.target} on the ALSA 'pipewire' device "
                f"(never the wpctl id {chosen.node_id}: it is recycled and not accepted there)"
            )
    return "\n".join(lines)

"""Captions as terminal lines, shared by ``edge-audio stream-file`` and ``edge-server follow``.
Pure functions.
"""

from __future__ import annotations

from typing import Any

EN_DASH = "\u2013"


def format_clock(seconds: float) -> str:
    """``75.25 -> '01:15.3'``; hours appear only when needed (``'1:02:03.0'``)."""
    tenths = max(0, round(seconds * 10))
    hours, rest = divmod(tenths, 36000)
    minutes, rest = divmod(rest, 600)
    clock = f"{minutes:02d}:{rest // 10:02d}.{rest % 10}"
    return f"{hours}:{clock}" if hours else clock


def format_final(msg: dict[str, Any]) -> str:
    """A ``final`` message as terminal lines: ``[start-end] text`` (an en dash between the
    times), then one indented line per translation."""
    start, end = msg.get("start"), msg.get("end")
    span = (
        f"[{format_clock(start)}{EN_DASH}{format_clock(end)}]"
        if isinstance(start, int | float) and isinstance(end, int | float)
        else "[?]"
    )
    lines = [f"{span} {msg.get('text', '')}"]
    translations = msg.get("translations")
    if isinstance(translations, dict):
        pad = " " * len(span)
        lines += [f"{pad} {lang}: {text}" for lang, text in sorted(translations.items())]
    return "\n".join(lines)

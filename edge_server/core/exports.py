"""Transcript exports: plain text, SubRip (.srt) and WebVTT (.vtt). Pure functions.

Each takes the room's final records (dicts as stored in the transcript file) and an optional
language: the source text by default, or a translation (falling back to the source text where
that translation is missing, so no line is dropped).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

EXPORT_FORMATS = ("txt", "srt", "vtt")


def line_text(record: Mapping[str, Any], lang: str | None = None) -> str:
    """The text of one final in ``lang`` (None: the source language)."""
    if lang is not None:
        translated = record.get("translations", {}).get(lang)
        if isinstance(translated, str) and translated:
            return translated
    return str(record.get("text", ""))


def format_timestamp(seconds: float, decimal_mark: str) -> str:
    """``HH:MM:SS,mmm`` (SubRip, mark ``,``) or ``HH:MM:SS.mmm`` (WebVTT, mark ``.``)."""
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal_mark}{millis:03d}"


def _cue_times(record: Mapping[str, Any]) -> tuple[float, float]:
    start = float(record.get("start", 0.0))
    end = float(record.get("end", start))
    return start, max(end, start + 0.5)


def _cue_text(record: Mapping[str, Any], lang: str | None) -> str:
    # A blank line would end the cue early in both formats.
    return " ".join(line_text(record, lang).split())


def to_txt(records: Iterable[Mapping[str, Any]], lang: str | None = None) -> str:
    """One final a line."""
    return "".join(f"{_cue_text(r, lang)}\n" for r in records)


def to_srt(records: Iterable[Mapping[str, Any]], lang: str | None = None) -> str:
    """SubRip: numbered cues with ``HH:MM:SS,mmm`` times."""
    cues = []
    for index, record in enumerate(records, start=1):
        start, end = _cue_times(record)
        cues.append(
            f"{index}\n{format_timestamp(start, ',')} --> {format_timestamp(end, ',')}\n"
            f"{_cue_text(record, lang)}\n"
        )
    return "\n".join(cues)


def to_vtt(records: Iterable[Mapping[str, Any]], lang: str | None = None) -> str:
    """WebVTT: a header, then cues with ``HH:MM:SS.mmm`` times, each named by its segment."""
    cues = ["WEBVTT\n"]
    for record in records:
        start, end = _cue_times(record)
        text = _cue_text(record, lang).replace("-->", "->")
        cues.append(
            f"seg-{record.get('segment', '')}\n"
            f"{format_timestamp(start, '.')} --> {format_timestamp(end, '.')}\n{text}\n"
        )
    return "\n".join(cues)

"""Transcript exports (pure)."""

from __future__ import annotations

import pytest

from edge_server.core.exports import format_timestamp, line_text, to_srt, to_txt, to_vtt

RECORDS = [
    {"segment": 1, "text": "hello world", "start": 0.24, "end": 1.5, "translations": {}},
    {
        "segment": 2,
        "text": "second\nline --> here",
        "start": 3661.0,
        "end": 3662.25,
        "translations": {"it": "seconda riga"},
    },
    {"segment": 3, "text": "short", "start": 5000.0, "end": 5000.0, "translations": {}},
]


@pytest.mark.parametrize(
    ("seconds", "mark", "expected"),
    [
        (0.0, ",", "00:00:00,000"),
        (0.2404, ",", "00:00:00,240"),
        (61.5, ".", "00:01:01.500"),
        (3661.999, ".", "01:01:01.999"),
        (36000.0, ",", "10:00:00,000"),
        (-1.0, ",", "00:00:00,000"),
    ],
)
def test_format_timestamp(seconds: float, mark: str, expected: str) -> None:
    assert format_timestamp(seconds, mark) == expected


def test_txt_one_line_per_final() -> None:
    assert to_txt(RECORDS) == "hello world\nsecond line --> here\nshort\n"


def test_translation_export_falls_back_to_source() -> None:
    assert to_txt(RECORDS, "it") == "hello world\nseconda riga\nshort\n"
    assert line_text(RECORDS[1], "de") == RECORDS[1]["text"]


def test_srt() -> None:
    assert to_srt(RECORDS) == (
        "1\n00:00:00,240 --> 00:00:01,500\nhello world\n\n"
        "2\n01:01:01,000 --> 01:01:02,250\nsecond line --> here\n\n"
        "3\n01:23:20,000 --> 01:23:20,500\nshort\n"
    )


def test_vtt() -> None:
    text = to_vtt(RECORDS)
    assert text.startswith("WEBVTT\n\n")
    assert "seg-1\n00:00:00.240 --> 00:00:01.500\nhello world\n" in text
    # "-->" inside a cue's text would break WebVTT parsing.
    assert "seg-2\n01:01:01.000 --> 01:01:02.250\nsecond line -> here\n" in text
    assert text.count("-->") == 3


def test_empty_transcript() -> None:
    assert to_txt([]) == ""
    assert to_srt([]) == ""
    assert to_vtt([]) == "WEBVTT\n"

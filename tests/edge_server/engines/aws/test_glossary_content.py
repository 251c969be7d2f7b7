"""What the glossary becomes in the cloud: Transcribe vocabulary phrases and the Translate
terminology file. Pure: tables of inputs and expected outputs."""

from __future__ import annotations

import pytest

from edge_server.core.glossary import Glossary
from edge_server.engines.aws.terminology_content import (
    MAX_TERMS,
    terminology_content,
    terminology_name,
)
from edge_server.engines.aws.vocabulary_content import (
    MAX_TOTAL_BYTES,
    glossary_phrases,
    vocabulary_content,
    vocabulary_name,
    vocabulary_phrase,
)


@pytest.mark.parametrize(
    ("entry", "language", "phrase", "reason"),
    [
        ("PipeWire", "en-US", "PipeWire", ""),
        ("Raspberry Pi", "en-US", "Raspberry-Pi", ""),
        ("  Eva  Maria ", "en-GB", "Eva-Maria", ""),
        ("O'Brien", "en-US", "O'Brien", ""),
        ("Node.js", "en-US", "Node.js", ""),
        ("Raspberry Pi 4", "en-US", None, "digits are not allowed (spell numbers out)"),
        ("C++", "en-US", None, "'+' is not in Transcribe's en-US character set"),
        ("Müller", "en-US", None, "'ü' is not in Transcribe's en-US character set"),
        ("Müller", "de-DE", "Müller", ""),
        ("Dvořák", "it-IT", "Dvořák", ""),
        ("...", "en-US", None, "no letters"),
        ("x" * 257, "en-US", None, "longer than 256 characters"),
    ],
)
def test_a_phrase_follows_transcribes_rules(
    entry: str, language: str, phrase: str | None, reason: str
) -> None:
    assert vocabulary_phrase(entry, language) == (phrase, reason)


def test_the_vocabulary_keeps_what_it_can_and_says_what_it_left_out() -> None:
    content = vocabulary_content(
        ["PipeWire", "pipewire", "Raspberry Pi", "C++", "FOSDEM", "Raspberry Pi 4"], "en-US"
    )
    assert content.phrases == ("PipeWire", "Raspberry-Pi", "FOSDEM")
    assert [(d.phrase, d.reason.split(" ")[0]) for d in content.dropped] == [
        ("C++", "'+'"),
        ("Raspberry Pi 4", "digits"),
    ]


def test_the_vocabulary_stops_at_50_kb() -> None:
    entries = [
        f"Name{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}{chr(97 + i // 676)}" for i in range(8000)
    ]
    content = vocabulary_content(entries, "en-US")
    size = sum(len(p.encode()) + 1 for p in content.phrases)
    assert size <= MAX_TOTAL_BYTES
    assert len(content.phrases) + len(content.dropped) == len(entries)
    assert content.dropped
    assert "byte limit" in content.dropped[0].reason


def test_the_name_changes_with_the_content_only() -> None:
    one = vocabulary_content(["PipeWire", "FOSDEM"], "en-US")
    same = vocabulary_content(["PipeWire", "FOSDEM", "fosdem"], "en-US")
    other = vocabulary_content(["PipeWire"], "en-US")
    italian = vocabulary_content(["PipeWire", "FOSDEM"], "it-IT")
    assert vocabulary_name("main", one) == vocabulary_name("main", same)
    assert vocabulary_name("main", one).startswith("edge-main-en-US-")
    assert len({vocabulary_name("main", c) for c in (one, other, italian)}) == 3


def test_glossary_phrases_are_terms_then_written_forms() -> None:
    glossary = Glossary.of(
        {"pipe wire": "PipeWire", "pre talks": "pretalx"}, ["FOSDEM", "PipeWire"]
    )
    assert glossary_phrases(glossary) == ["FOSDEM", "PipeWire", "pretalx"]


def test_the_terminology_maps_every_term_to_itself_in_every_language() -> None:
    content = terminology_content(
        ["PipeWire", "Jane Doe, PhD", "PipeWire", " "], ["en", "it", "de", "it"]
    )
    assert content.languages == ("en", "it", "de")
    assert content.csv_bytes.decode() == (
        'en,it,de\nPipeWire,PipeWire,PipeWire\n"Jane Doe, PhD","Jane Doe, PhD","Jane Doe, PhD"\n'
    )
    assert content.usable
    assert content.description == f"edge-server glossary {content.digest}"


def test_the_terminology_keeps_translates_256_terms() -> None:
    content = terminology_content([f"Term{i}" for i in range(MAX_TERMS + 4)], ["en", "it"])
    assert len(content.terms) == MAX_TERMS
    assert [d.phrase for d in content.dropped] == [
        f"Term{i}" for i in range(MAX_TERMS, MAX_TERMS + 4)
    ]


@pytest.mark.parametrize(
    ("terms", "languages", "usable"),
    [([], ["en", "it"], False), (["PipeWire"], ["en"], False), (["PipeWire"], ["en", "it"], True)],
)
def test_a_terminology_needs_terms_and_two_languages(
    terms: list[str], languages: list[str], usable: bool
) -> None:
    assert terminology_content(terms, languages).usable is usable


@pytest.mark.parametrize(
    ("room", "name"), [("main", "edge-main"), ("hall_a", "edge-hall-a"), ("a__b", "edge-a-b")]
)
def test_terminology_names_follow_translates_pattern(room: str, name: str) -> None:
    assert terminology_name(room) == name

"""The glossary: corrections and exact terms on finals, from TOML, with tables."""

from __future__ import annotations

import pytest

from edge_server.core.glossary import Glossary, GlossaryError, parse_glossary, schedule_terms
from edge_server.core.schedule_xml import parse_schedule
from tests.helpers.paths import FIXTURES

GLOSSARY = parse_glossary(
    """
terms = ["PipeWire", "FOSDEM", "Raspberry Pi", "C++", "node.js"]

[corrections]
"pipe wire" = "PipeWire"
"fuzz dem" = "FOSDEM"
"edge server" = "edge-server"
"a b" = "X\\\\1"
""",
    "test.toml",
)


@pytest.mark.parametrize(
    ("heard", "written"),
    [
        ("we use pipe wire here", "we use PipeWire here"),
        ("Pipe   Wire is new", "PipeWire is new"),  # any case, any spacing
        ("pipewire and PIPEWIRE", "PipeWire and PipeWire"),  # terms: exact form
        ("welcome to fuzz dem", "welcome to FOSDEM"),
        ("a raspberry pi four", "a Raspberry Pi four"),
        ("pipewires are plural", "pipewires are plural"),  # whole words only
        ("the edge server runs", "the edge-server runs"),
        ("c++ and node.js", "C++ and node.js"),
        ("nothing to do", "nothing to do"),
        ("a b c", "X\\1 c"),  # the written form is literal, never a regex replacement
        ("", ""),
    ],
)
def test_corrections_and_terms(heard: str, written: str) -> None:
    assert GLOSSARY.apply(heard) == written


def test_merging_adds_and_the_room_wins() -> None:
    room = Glossary.of({"fuzz dem": "FOSDEM 2026"}, ["Janson"])
    merged = GLOSSARY.merged(room)
    assert merged.apply("fuzz dem in janson") == "FOSDEM 2026 in Janson"
    assert not Glossary()
    assert merged


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('terms = ["a"\n[corrections]\n', r"glossary g.toml: .*\(at line 2, column 1\)"),
        ('[corrections]\n"x" = 1\n', "corrections\\] must be"),
        ("terms = 'PipeWire'\n", "terms must be a list of strings"),
        ("words = []\n", r"unknown key\(s\) \['words'\]"),
    ],
)
def test_a_bad_glossary_names_the_file_and_the_line(text: str, message: str) -> None:
    with pytest.raises(GlossaryError, match=message):
        parse_glossary(text, "g.toml")


def test_speakers_and_title_words_of_the_schedule_join_the_terms() -> None:
    schedule = parse_schedule((FIXTURES / "schedule" / "conference.xml").read_bytes())
    terms = schedule_terms(schedule)
    assert "Carol Ödegaard" in terms
    assert "Alice Example" in terms
    assert "Pune" in terms  # "Remote talk from Pune (offset +05:30)"
    assert "Opening" not in terms
    assert "Remote" not in terms
    names = Glossary.of({}, terms)
    assert names.apply("thanks carol ödegaard from pune") == "thanks Carol Ödegaard from Pune"
    assert schedule_terms(None) == []

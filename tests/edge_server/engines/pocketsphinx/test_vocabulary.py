"""The glossary in the embedded recognizer: which words it is taught and how they sound (pure),
and the worker payload; a bad payload is refused with a clear error."""

from __future__ import annotations

import pytest

from edge_server.core.glossary import Glossary
from edge_server.engines.pocketsphinx.vocabulary import (
    MAX_WORDS,
    EngineWord,
    WrittenForm,
    forms_from_json,
    forms_to_json,
    plan_vocabulary,
    written_forms,
)

DICTIONARY = {
    "dashwood": "D AE SH W UH D",
    "john": "JH AA N",
    "for": "F AO R",
    "ours": "AW ER Z",
    "pipe": "P AY P",
    "wire": "W AY ER",
    "raspberry": "R AE Z B EH R IY",
    "pi": "P AY",
    "della": "D EH L AH",
    "ford": "F AO R D",
}


def test_written_forms_gather_the_heard_phrases_of_each_written_form() -> None:
    glossary = Glossary.of(
        {"for ours": "Ferrars", "for hers": "Ferrars", "pipe wire": "PipeWire"},
        ["Dashwood", "Ferrars"],
    )
    assert written_forms(glossary) == (
        WrittenForm("Ferrars", ("for ours", "for hers")),
        WrittenForm("PipeWire", ("pipe wire",)),
        WrittenForm("Dashwood"),
    )


@pytest.mark.parametrize(
    ("forms", "added", "known", "unpronounceable"),
    [
        # a name the dictionary knows in lowercase: taught with its capitals
        ([WrittenForm("John Dashwood")], [("John", "JH AA N"), ("Dashwood", "D AE SH W UH D")],
         [], []),
        # an unknown word sounds like its heard form; one written word, several heard words
        ([WrittenForm("Ferrars", ("for ours",))], [("Ferrars", "F AO R AW ER Z")], [], []),
        ([WrittenForm("PipeWire", ("pipe wire",))], [("PipeWire", "P AY P W AY ER")], [], []),
        # as many heard words as written ones: word by word
        ([WrittenForm("Dela Fordshire", ("della ford",))], [("Dela", "D EH L AH"),
         ("Fordshire", "F AO R D")], [], []),
        # a heard form with an unknown word does not help; the next one may
        ([WrittenForm("Ferrars", ("ferris", "for ours"))], [("Ferrars", "F AO R AW ER Z")], [], []),
        # written exactly as the dictionary has it: nothing to teach
        ([WrittenForm("raspberry pi")], [], ["raspberry", "pi"], []),
        # no pronunciation, or not letters: left out (the corrections on finals still apply)
        ([WrittenForm("pretalx"), WrittenForm("C++")], [], [], ["pretalx", "C++"]),
        # each word once, however often it appears
        ([WrittenForm("John"), WrittenForm("John Dashwood")], [("John", "JH AA N"),
         ("Dashwood", "D AE SH W UH D")], [], []),
    ],
)  # fmt: skip
def test_plan_vocabulary(
    forms: list[WrittenForm],
    added: list[tuple[str, str]],
    known: list[str],
    unpronounceable: list[str],
) -> None:
    plan = plan_vocabulary(forms, DICTIONARY.get)
    assert plan.added == tuple(EngineWord(w, p) for w, p in added)
    assert plan.known == tuple(known)
    assert plan.unpronounceable == tuple(unpronounceable)


def test_a_huge_glossary_is_capped() -> None:
    names = [f"Name{chr(97 + i % 26)}{'x' * (i // 26)}" for i in range(2100)]
    forms = [WrittenForm(name, ("john",)) for name in names]
    plan = plan_vocabulary(forms, DICTIONARY.get)
    assert len(plan.added) == MAX_WORDS
    assert len(plan.unpronounceable) == 100
    assert plan.summary()["added"] == MAX_WORDS


def test_payload_round_trip_and_bad_payloads() -> None:
    forms = (WrittenForm("Ferrars", ("for ours",)), WrittenForm("Dashwood"))
    assert forms_from_json(forms_to_json(forms)) == forms
    for bad, message in [
        ({"written": "x"}, "must be a list"),
        (["Dashwood"], "not an object"),
        ([{"heard": []}], "needs written"),
        ([{"written": "x", "heard": "for ours"}], "needs written"),
        ([{"written": "x", "heard": [1]}], "must be text"),
    ]:
        with pytest.raises(ValueError, match=message):
            forms_from_json(bad)

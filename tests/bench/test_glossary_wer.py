"""The glossary benchmark's parts: the scores (pure tables), corrections derived from mistakes,
the speech it is measured on (real flite), and its table and doc section from results."""

from __future__ import annotations

import pytest

from bench.lib import glossary_speech
from bench.lib.name_scores import Region, derive_corrections, differences, name_hits, score
from bench.report.glossary_section import glossary_section, glossary_table

NAMES = ("Elinor", "Edward", "Ferrars", "Marianne", "Norland", "John", "Dashwood")


@pytest.mark.parametrize(
    ("reference", "hypothesis", "hits"),
    [
        ("Elinor saw Edward Ferrars", "Elinor saw Edward Ferrars.", (3, 3)),
        ("Elinor saw Edward Ferrars", "elinor saw edward for ours", (0, 3)),  # capitals count
        ("and mister John Dashwood had", "Mr. John Dashwood had", (2, 2)),  # mr = mister
        ("Elinor saw", "", (0, 1)),
        ("he was not", "He was not.", (0, 0)),
    ],
)
def test_name_hits(reference: str, hypothesis: str, hits: tuple[int, int]) -> None:
    assert name_hits(reference, hypothesis, NAMES) == hits


def test_wer_is_case_insensitive_and_names_are_not() -> None:
    lower = score(["Elinor saw Edward"], ["elinor saw edward"], NAMES)
    assert (lower.wer, lower.names_right, lower.name_accuracy) == (0.0, 0, 0.0)
    assert score(["he was"], ["he is"], NAMES).as_dict() == {
        "wer": 0.5, "name_accuracy": None, "names_right": 0, "names_total": 0,
    }  # fmt: skip


def test_differences_merge_neighbouring_edits() -> None:
    found = differences(
        "Edward Ferrars was not recommended", "edward for ours was not recommend it"
    )
    assert found == [
        Region(("Ferrars",), ("for", "ours")),
        Region(("recommended",), ("recommend", "it")),
    ]


def test_corrections_come_only_from_names_misheard() -> None:
    pairs = [
        ("Edward Ferrars was here", "edward for ours was here"),
        ("Marianne was", "maryann was"),
        ("Marianne said", "maryann said"),
        ("Marianne sang", "mary and sang"),  # less often: "maryann" stays
        ("at Norland Park", "up north park"),  # a name with another word: not a name's mistake
        ("Elinor wept", "now what are wept"),  # more than a name's mishearing
        ("Fanny came", "family came"),  # "family" is said right elsewhere: not a correction
        ("The family", "The family"),
        ("Elinor saw", "elinor saw"),  # only the capitals: the terms do that
        ("a recommendation", "a wreck"),  # not a name
    ]
    assert derive_corrections(pairs, NAMES) == {
        "for ours": "Ferrars",
        "mary and": "Marianne",
        "maryann": "Marianne",
    }


def test_flite_speaks_a_sentence_with_its_reference() -> None:
    clips = glossary_speech.spoken(("Elinor saw Edward.",), ("kal16",), "t")
    assert [(c.name, c.reference) for c in clips] == [("t-00-kal16", "Elinor saw Edward.")]
    assert len(clips[0].pcm) > 32000 // 2  # more than half a second of 16 kHz s16le


def test_the_librivox_references_get_the_names_capitals() -> None:
    assert glossary_speech.with_capitals("and mister john dashwood had") == (
        "and mister John Dashwood had"
    )


def _condition(wer: float, right: int) -> dict[str, object]:
    found = {"wer": wer, "name_accuracy": right / 25, "names_right": right, "names_total": 25}
    return {"all": found, "flite": found, "librivox": {**found, "wer": 0.25}}


RESULT = {
    "quick": False,
    "machine": {"loadavg_at_start": [0.4, 0.4, 0.4]},
    "voices": ["slt", "kal16", "rms"],
    "train_clips": ["train-00-slt"] * 42,
    "test_clips": ["test-00-slt"] * 35,
    "terms": list(NAMES),
    "corrections": {"for ours": "Ferrars"},
    "weight": 3000.0,
    "weight_sweep_on_train": {"300": {"wer": 0.2}, "3000": {"wer": 0.18}},
    "conditions": {
        "none": _condition(0.29, 4),
        "corrections": _condition(0.258, 17),
        "engine": _condition(0.194, 23),
    },
    "examples": [
        {"clip": "test-01-slt", "reference": "Elinor saw that Edward Ferrars was unhappy.",
         "none": "Elinor so that edward for ours", "corrections": "Elinor so that Edward Ferrars",
         "engine": "Elinor so that Edward Ferrars"},
    ],
}  # fmt: skip


def test_the_table_and_the_doc_section() -> None:
    lines = glossary_table(RESULT)
    assert [line.split()[0] for line in lines[-3:]] == ["none", "corrections", "engine"]
    assert "92 % (23/25)" in lines[-1]
    doc = "\n".join(glossary_section(RESULT))
    assert "| no glossary | 0.29 |" in doc
    assert "weight 300: WER 0.2, weight 3000: WER 0.18" in doc
    assert '"for ours" = "Ferrars"' in doc
    assert "42 *train* clips" in doc

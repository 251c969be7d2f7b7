"""Voice-to-screen matching as tables: reference words and what the kiosk showed in, latencies
out (bench/lib/wordtiming.py). Every time here is made up; nothing is measured."""

from __future__ import annotations

import pytest

from bench.lib.procstat import summary_s
from bench.lib.wordtiming import (
    RefWord,
    Shown,
    align,
    latencies,
    normalize,
    reference_word,
    segments,
    voice_time,
)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "He was not an ill-disposed young man.",
            ["he", "was", "not", "an", "illdisposed", "young", "man"],
        ),
        ("Mr. John Dashwood", ["mister", "john", "dashwood"]),
        ("I don't  know", ["i", "don't", "know"]),
        ("  ", []),
        ("'quoted' — dash", ["quoted", "dash"]),
    ],
)
def test_normalize(text: str, words: list[str]) -> None:
    assert normalize(text) == words


@pytest.mark.parametrize(
    ("token", "word"),
    [
        ("was(2)", "was"),
        ("man", "man"),
        ("<sil>", None),
        ("<s>", None),
        ("[NOISE]", None),
        ("++UH++", None),
    ],
)
def test_reference_word(token: str, word: str | None) -> None:
    assert reference_word(token) == word


@pytest.mark.parametrize(
    ("ref", "hyp", "pairs"),
    [
        ("a b c", "a b c", [(0, 0), (1, 1), (2, 2)]),
        ("a b c", "a x c", [(0, 0), (2, 2)]),  # substitution
        ("a b c", "a c", [(0, 0), (2, 1)]),  # deletion
        ("a b c", "a b y c", [(0, 0), (1, 1), (2, 3)]),  # insertion
        ("a b c", "", []),
        ("", "a", []),
        ("the man the end", "the end", [(2, 0), (3, 1)]),  # the cheapest alignment
    ],
)
def test_align(ref: str, hyp: str, pairs: list[tuple[int, int]]) -> None:
    assert align(ref.split(), hyp.split()) == pairs


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        (0.05, 100.05),  # frame 0 (0-0.1 s) left at 100.1: its 0.05 s was spoken 0.05 s before
        (0.1, 100.1),  # a frame boundary belongs to the frame it ends
        (0.15, 100.65),  # frame 1 left late (100.7): the voice is placed by the frame sent
        (0.35, None),  # frame 3 never left
    ],
)
def test_voice_time(position: float, expected: float | None) -> None:
    found = voice_time(position, 0.1, [100.1, 100.7, 100.8])
    assert found == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize(
    ("final", "partial", "pairs"),
    [
        # A partial is the beginning of its sentence: its "to" is the first one, not the
        # second (which a whole-sentence alignment could pick at the same cost).
        ("a to b c d to e", "x a to", [(0, 1), (1, 2)]),
        ("a b c", "a b c", [(0, 0), (1, 1), (2, 2)]),
        ("a b c", "", []),
        ("a b c", "a x", [(0, 0)]),
    ],
)
def test_align_a_partial_with_the_beginning_of_its_final(
    final: str, partial: str, pairs: list[tuple[int, int]]
) -> None:
    assert align(final.split(), partial.split(), prefix=True) == pairs


def test_a_word_counts_from_the_first_partial_that_has_it_right() -> None:
    shown = [
        Shown(10.0, "partial", 1, "he"),
        Shown(10.3, "partial", 1, "he was knot"),
        Shown(10.6, "partial", 1, "he was not an"),
        Shown(11.0, "final", 1, "He was not."),
        Shown(11.2, "partial", 2, "young"),  # a segment that never became final
        Shown(12.0, "final", 1, "He was not, really."),  # a later change of a final: ignored
    ]
    seg = segments(shown)[1]
    assert seg.words == ["he", "was", "not"]
    assert seg.final_at == 11.0
    assert seg.first_seen == [10.0, 10.3, 10.6]
    assert seg.seen_in_partial == [True, True, True]
    assert list(segments(shown)) == [1]


def test_a_word_only_the_final_showed_counts_from_the_final() -> None:
    seg = segments([Shown(5.0, "partial", 3, "a b"), Shown(6.0, "final", 3, "a b c")])[3]
    assert seg.first_seen == [5.0, 5.0, 6.0]
    assert seg.seen_in_partial == [True, True, False]


def test_latencies_match_words_by_text_and_time_finals_from_their_last_word() -> None:
    # Frames of 0.1 s sent on time from 100.0 (frame k leaves at 100.0 + (k + 1) * 0.1).
    sent = [100.0 + (k + 1) * 0.1 for k in range(40)]
    ref = [
        RefWord("he", 0.2, 0.4),
        RefWord("was", 0.4, 0.6),
        RefWord("not", 0.6, 1.0),
        RefWord("young", 2.0, 2.4),
        RefWord("man", 2.4, 3.0),
    ]
    shown = [
        Shown(100.5, "partial", 0, "he"),
        Shown(100.9, "partial", 0, "he was"),
        Shown(101.3, "partial", 0, "he was not"),
        Shown(101.8, "final", 0, "He was not."),
        Shown(102.9, "partial", 1, "young"),
        Shown(103.6, "final", 1, "Young men."),  # "men": wrong, so this final is not timed
    ]
    found = latencies(ref, shown, 0.1, sent)
    assert found["reference_words"] == 5
    assert found["recognized_words"] == 5
    assert found["matched_words"] == 4
    assert found["matched_seen_in_partial"] == 4
    assert found["finals"] == 2
    assert found["finals_timed"] == 1
    assert found["partial"] == pytest.approx([0.1, 0.3, 0.3, 0.5])
    assert found["final"] == pytest.approx([0.8])
    assert found["word_final"] == pytest.approx([1.4, 1.2, 0.8, 1.2])


def test_summary() -> None:
    assert summary_s([]) == {"count": 0, "p50_s": None, "p95_s": None, "max_s": None}
    values = [i / 10 for i in range(20, -1, -1)]  # 2.0 .. 0.0, in any order
    assert summary_s(values) == {"count": 21, "p50_s": 1.0, "p95_s": 1.9, "max_s": 2.0}

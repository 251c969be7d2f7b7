"""Caption segment state: hypotheses in, messages out (pure)."""

from __future__ import annotations

from edge_server.core.captions import CaptionTracker
from edge_server.core.engine_api import Hypothesis


def hyp(text: str, final: bool = False, start: float = 1.0, end: float = 2.0) -> Hypothesis:
    return Hypothesis(text=text, is_final=final, start=start, end=end, language="en-US")


def run(tracker: CaptionTracker, hyps: list[Hypothesis]) -> list[tuple[str, int, str]]:
    out = []
    for h in hyps:
        update = tracker.apply(h)
        if update is not None:
            m = update.message
            out.append((m["type"], m["segment"], m["text"]))
    return out


def test_partials_share_the_segment_and_the_final_closes_it() -> None:
    tracker = CaptionTracker("main", "pocketsphinx", next_segment=7, timeline_offset=0.0)
    assert run(
        tracker,
        [
            hyp("he"),
            hyp("he might"),
            hyp("he might"),  # unchanged: nothing to send
            hyp("he might even", final=True),
            hyp("next"),
            hyp(" next words ", final=True),
        ],
    ) == [
        ("partial", 7, "he"),
        ("partial", 7, "he might"),
        ("final", 7, "he might even"),
        ("partial", 8, "next"),
        ("final", 8, "next words"),
    ]
    assert tracker.next_segment == 9


def test_final_without_partials_gets_its_own_segment() -> None:
    tracker = CaptionTracker("main", "x", next_segment=1, timeline_offset=0.0)
    assert run(tracker, [hyp("a", final=True), hyp("b", final=True)]) == [
        ("final", 1, "a"),
        ("final", 2, "b"),
    ]


def test_empty_final_clears_a_shown_partial_and_is_never_a_final() -> None:
    tracker = CaptionTracker("main", "x", next_segment=1, timeline_offset=0.0)
    assert run(tracker, [hyp("uh"), hyp("", final=True), hyp("  ", final=True)]) == [
        ("partial", 1, "uh"),
        ("partial", 1, ""),
    ]
    assert run(tracker, [hyp("real", final=True)]) == [("final", 2, "real")]


def test_empty_partials_are_ignored() -> None:
    tracker = CaptionTracker("main", "x", next_segment=1, timeline_offset=0.0)
    assert run(tracker, [hyp(""), hyp("  ")]) == []
    assert tracker.next_segment == 1


def test_times_move_onto_the_room_timeline_and_final_fields() -> None:
    tracker = CaptionTracker("main", "pocketsphinx", next_segment=3, timeline_offset=100.0)
    update = tracker.apply(hyp("hello", final=True, start=1.23456, end=2.5))
    assert update is not None
    assert update.is_final
    assert update.message == {
        "type": "final",
        "room": "main",
        "segment": 3,
        "text": "hello",
        "lang": "en-US",
        "start": 101.235,
        "end": 102.5,
        "engine": "pocketsphinx",
        "translations": {},
    }


def test_end_never_precedes_start() -> None:
    tracker = CaptionTracker("main", "x", next_segment=1, timeline_offset=0.0)
    update = tracker.apply(hyp("a", final=True, start=5.0, end=4.0))
    assert update is not None
    assert update.message["end"] == update.message["start"] == 5.0


def test_partials_carry_word_stability_when_the_engine_gives_it() -> None:
    from edge_server.core.engine_api import Word

    tracker = CaptionTracker("main", "transcribe", next_segment=1, timeline_offset=0.0)
    words = (Word("ciao", 0.0, 0.4, True), Word("a", 0.4, 0.5, False))
    partial = tracker.apply(Hypothesis("ciao a", False, 0.0, 0.5, "it-IT", words))
    assert partial is not None
    assert partial.message["lang"] == "it-IT"
    assert partial.message["words"] == [
        {"text": "ciao", "stable": True},
        {"text": "a", "stable": False},
    ]
    final = tracker.apply(Hypothesis("ciao a tutti", True, 0.0, 0.9, "it-IT", words))
    assert final is not None
    assert "words" not in final.message

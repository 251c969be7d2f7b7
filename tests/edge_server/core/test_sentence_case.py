"""Sentence case for the embedded recognizer's lowercase hypotheses."""

from __future__ import annotations

import pytest

from edge_server.core.sentence_case import sentence_case


@pytest.mark.parametrize(
    ("text", "final", "expected"),
    [
        ("i think we should start", True, "I think we should start."),
        ("i think we should start", False, "I think we should start"),
        ("so i'm here and i've seen it", True, "So I'm here and I've seen it."),
        ("i'd say i'll go", True, "I'd say I'll go."),
        ("it is ice in iceland", True, "It is ice in iceland."),
        ("  extra   spaces  ", True, "Extra spaces."),
        ("already done.", True, "Already done."),
        ("is it?", True, "Is it?"),
        ("", True, ""),
        ("   ", False, ""),
        ("mister smith", True, "Mister smith."),
    ],
)
def test_sentence_case(text: str, final: bool, expected: str) -> None:
    assert sentence_case(text, final=final) == expected

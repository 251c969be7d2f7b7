"""The room's glossary reaches the engine behind a cloud recognizer (the embedded one learns its
words), and only engines that can use it get it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from edge_server.core.engine_api import GlossaryUser
from edge_server.core.glossary import Glossary
from edge_server.engines.fallback.recognizer import FallbackRecognizer
from tests.helpers.scripted_engine import ScriptedRecognizer


class LearningRecognizer(ScriptedRecognizer):
    """A scripted recognizer that keeps the glossaries it was given."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.glossaries: list[tuple[Glossary, tuple[str, ...]]] = []

    def use_glossary(self, glossary: Glossary, languages: Sequence[str]) -> None:
        self.glossaries.append((glossary, tuple(languages)))

    def glossary_status(self) -> Mapping[str, Any] | None:
        return {"taught": len(self.glossaries)}


def test_the_glossary_goes_to_the_engines_that_learn_it() -> None:
    cloud, embedded = ScriptedRecognizer("cloud"), LearningRecognizer("embedded")
    recognizer = FallbackRecognizer(cloud, embedded)
    assert isinstance(recognizer, GlossaryUser)
    assert not isinstance(cloud, GlossaryUser)
    glossary = Glossary.of({"for ours": "Ferrars"}, ["Dashwood"])
    recognizer.use_glossary(glossary, ["en-US", "it"])
    assert embedded.glossaries == [(glossary, ("en-US", "it"))]
    assert recognizer.glossary_status() == {"taught": 1}  # the cloud one has none here
    FallbackRecognizer(cloud, None).use_glossary(glossary, ["en-US"])  # nothing behind it

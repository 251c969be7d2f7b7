"""The room's glossary reaches the engine behind a cloud recognizer (the embedded one learns its
words), and only engines that can use it get it."""

from __future__ import annotations

from edge_server.core.engine_api import LearnsGlossary
from edge_server.core.glossary import Glossary
from edge_server.engines.fallback.recognizer import FallbackRecognizer
from tests.helpers.scripted_engine import ScriptedRecognizer


class LearningRecognizer(ScriptedRecognizer):
    """A scripted recognizer that keeps the glossaries it was given."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.glossaries: list[Glossary] = []

    def use_glossary(self, glossary: Glossary) -> None:
        self.glossaries.append(glossary)


def test_the_glossary_goes_to_the_engines_that_learn_it() -> None:
    cloud, embedded = ScriptedRecognizer("cloud"), LearningRecognizer("embedded")
    recognizer = FallbackRecognizer(cloud, embedded)
    assert isinstance(recognizer, LearnsGlossary)
    assert not isinstance(cloud, LearnsGlossary)
    glossary = Glossary.of({"for ours": "Ferrars"}, ["Dashwood"])
    recognizer.use_glossary(glossary)
    assert embedded.glossaries == [glossary]
    FallbackRecognizer(cloud, None).use_glossary(glossary)  # no engine behind: nothing to do

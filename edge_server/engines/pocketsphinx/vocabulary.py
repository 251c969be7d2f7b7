"""The glossary in the embedded recognizer: which written words it can be taught, and how they
sound. Pure: a glossary and a dictionary lookup in, a plan out.

pocketsphinx recognizes only words of its pronunciation dictionary and language model, in
lowercase. For every word of the glossary's written forms (its terms and the right-hand side of
its corrections) the worker adds that word, **spelled as written** (``Dashwood``, ``Ferrars``),
to the dictionary and to the language model with a boosted unigram probability
(:attr:`~.worker_protocol.DecoderOptions.glossary_weight`). The recognizer then hears the name
more readily and writes it with its capitals. The pronunciation comes from:

1. the dictionary's entry for the word in lowercase (``dashwood`` -> ``D AE SH W UH D``);
2. else a correction's heard form, a respelling with known words: ``"for ours" = "Ferrars"``
   gives ``Ferrars`` the sounds of "for ours"; a heard form with as many words as the written
   form lends each written word the sounds of its heard word, and one written word takes the
   sounds of all the heard words in turn;
3. else none: the word is left out (``unpronounceable``) and only the corrections on finals
   apply to it.

A word the dictionary already has in exactly that spelling (a lowercase term such as
``raspberry``) is ``known``: pocketsphinx can already write it, and its probability cannot be
raised in place, so it is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from edge_server.core.glossary import Glossary

MAX_WORDS = 2000
"""At most this many words are added (each costs a little memory and start time)."""
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
"""What the English model can say: letters, apostrophes and hyphens (``C++`` cannot be)."""

Lookup = Callable[[str], str | None]
"""A dictionary lookup: a word's phones (``"D AE SH W UH D"``) or None when unknown."""


@dataclass(frozen=True)
class WrittenForm:
    """A glossary phrase as it is written, and the heard phrases corrected to it."""

    written: str
    heard: tuple[str, ...] = ()


@dataclass(frozen=True)
class EngineWord:
    """A word to add to the recognizer: its spelling and its phones."""

    word: str
    phones: str


@dataclass(frozen=True)
class VocabularyPlan:
    """What the recognizer does with a glossary."""

    added: tuple[EngineWord, ...] = ()
    known: tuple[str, ...] = ()
    """Words it already writes exactly so."""
    unpronounceable: tuple[str, ...] = ()
    """Words left out: no pronunciation (not in the dictionary, no usable heard form), not
    made of letters, or beyond :data:`MAX_WORDS`."""

    def summary(self) -> dict[str, object]:
        """For the worker's ``glossary`` event and the log."""
        return {
            "added": len(self.added),
            "known": list(self.known),
            "unpronounceable": list(self.unpronounceable),
        }


def written_forms(glossary: Glossary) -> tuple[WrittenForm, ...]:
    """The glossary's written forms, each with the heard phrases corrected to it, in a stable
    order (corrections first, then terms)."""
    heard: dict[str, list[str]] = {}
    for phrase, written in glossary.corrections.items():
        heard.setdefault(written, []).append(phrase)
    for term in glossary.terms:
        heard.setdefault(term, [])
    return tuple(WrittenForm(w, tuple(h)) for w, h in heard.items())


def forms_to_json(forms: Sequence[WrittenForm]) -> list[dict[str, object]]:
    """The worker's ``GLOSSARY`` payload (a JSON list)."""
    return [{"written": f.written, "heard": list(f.heard)} for f in forms]


def forms_from_json(data: object) -> tuple[WrittenForm, ...]:
    """Parse a ``GLOSSARY`` payload; ValueError when it is not a list of written forms."""
    if not isinstance(data, list):
        raise ValueError("glossary payload must be a list")
    forms = []
    for item in data:
        if not isinstance(item, Mapping):
            raise ValueError(f"glossary entry is not an object: {item!r:.80}")
        written, heard = item.get("written"), item.get("heard", [])
        if not isinstance(written, str) or not isinstance(heard, list):
            raise ValueError(f"glossary entry needs written (text) and heard (list): {item!r:.80}")
        if not all(isinstance(h, str) for h in heard):
            raise ValueError(f"glossary heard forms must be text: {item!r:.80}")
        forms.append(WrittenForm(written, tuple(heard)))
    return tuple(forms)


def _sounds(words: Sequence[str], lookup: Lookup) -> str | None:
    phones = [lookup(w.lower()) for w in words]
    if not words or any(p is None for p in phones):
        return None
    return " ".join(p for p in phones if p)


def _phones_of(word: str, index: int, form: WrittenForm, lookup: Lookup) -> str | None:
    own = lookup(word.lower())
    if own is not None:
        return own
    count = len(form.written.split())
    for heard in form.heard:
        heard_words = heard.split()
        if len(heard_words) == count:
            phones = _sounds(heard_words[index : index + 1], lookup)
        elif count == 1:
            phones = _sounds(heard_words, lookup)
        else:
            phones = None
        if phones is not None:
            return phones
    return None


def plan_vocabulary(forms: Sequence[WrittenForm], lookup: Lookup) -> VocabularyPlan:
    """Which words of ``forms`` to add, with which phones (see the module's docstring)."""
    added: dict[str, EngineWord] = {}
    known: list[str] = []
    unpronounceable: list[str] = []
    for form in forms:
        for index, word in enumerate(form.written.split()):
            if word in added or word in known or word in unpronounceable:
                continue
            if not _WORD.fullmatch(word) or len(added) >= MAX_WORDS:
                unpronounceable.append(word)
            elif lookup(word) is not None:
                known.append(word)
            elif (phones := _phones_of(word, index, form, lookup)) is not None:
                added[word] = EngineWord(word, phones)
            else:
                unpronounceable.append(word)
    return VocabularyPlan(tuple(added.values()), tuple(known), tuple(unpronounceable))

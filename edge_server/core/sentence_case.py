"""Sentence case for recognizers that write lowercase words without punctuation. Pure.

The embedded recognizer's hypotheses read ``i think we should start``; screens, transcripts
and exports show ``I think we should start.``: the first letter upper case, the pronoun "I"
(with its contractions), and a full stop at the end of a final. Partials get the same case but
no full stop: the sentence is not over yet. Text that already has punctuation at its end keeps
it. Names and other capitals need a glossary; this module knows only these rules.
"""

from __future__ import annotations

_PRONOUN_I = frozenset({"i", "i'm", "i'd", "i'll", "i've"})
_ENDINGS = (".", "!", "?", "…")


def sentence_case(text: str, *, final: bool) -> str:
    """``text`` with a capital first letter and "I"; a final also ends with a full stop."""
    words = ["I" + word[1:] if word in _PRONOUN_I else word for word in text.split()]
    if not words:
        return ""
    words[0] = words[0][:1].upper() + words[0][1:]
    out = " ".join(words)
    if final and not out.endswith(_ENDINGS):
        out += "."
    return out

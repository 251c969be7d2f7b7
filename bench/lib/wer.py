"""Word error rate against the LibriVox references, compared as words only. Pure."""

from __future__ import annotations

import jiwer

SPELLINGS = {"mr": "mister", "mr.": "mister", "mrs": "missus", "mrs.": "missus"}


def normalize(text: str) -> str:
    """Lowercase words without punctuation; the dictionary's "mr" as the corpus's "mister"
    (compare words, not spelling, nor the sentence case and full stops the server adds)."""
    words = (word.strip(".,!?") for word in text.lower().split())
    return " ".join(SPELLINGS.get(word, word) for word in words if word)


def wer(references: list[str], hypotheses: list[str]) -> float:
    """Word error rate of ``hypotheses`` (normalized) against ``references`` (normalized)."""
    return float(jiwer.wer([normalize(r) for r in references], [normalize(h) for h in hypotheses]))

"""What a glossary does to recognized text: word error rate and name accuracy, and corrections
derived from a recognizer's mistakes on names. Pure.

- **WER**: case-insensitive, words only (:func:`bench.lib.wer.normalize`: no punctuation, the
  dictionary's "mr" as "mister"), jiwer's word error rate over all clips together.
- **Name accuracy**: of the reference's names (the words of :data:`names`), the share the
  hypothesis has at the same place (aligned as for the WER) **with the same capitals**:
  "elinor" for "Elinor" counts as wrong, as a reader of the screen would see it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import jiwer

from bench.lib.wer import SPELLINGS, wer

EXTRA_HEARD_WORDS = 1
"""A derived correction's heard phrase has at most one word more than the name it stands for
("for ours" for "Ferrars"): a long phrase of common words ("now what are" for "Elinor") is a
mishearing of more than the name, not a spelling of it."""


def tokens(text: str) -> list[str]:
    """Words as written (capitals kept), punctuation around them taken off."""
    return [w for w in (word.strip(".,!?;:") for word in text.split()) if w]


def _lower(words: Sequence[str]) -> str:
    return " ".join(SPELLINGS.get(w.lower(), w.lower()) for w in words)


@dataclass(frozen=True)
class Region:
    """Where reference and hypothesis differ: the words on each side."""

    reference: tuple[str, ...]
    hypothesis: tuple[str, ...]


def _align(reference: str, hypothesis: str) -> tuple[list[str], list[str], list[tuple[str, ...]]]:
    ref, hyp = tokens(reference), tokens(hypothesis)
    if not ref:
        return ref, hyp, []
    out = jiwer.process_words(_lower(ref), _lower(hyp) or "")
    chunks = [(c.type, c.ref_start_idx, c.ref_end_idx, c.hyp_start_idx, c.hyp_end_idx)
              for c in out.alignments[0]]  # fmt: skip
    return ref, hyp, chunks  # type: ignore[return-value]


def name_hits(reference: str, hypothesis: str, names: Iterable[str]) -> tuple[int, int]:
    """(names right with their capitals, names in the reference)."""
    wanted = set(names)
    ref, hyp, chunks = _align(reference, hypothesis)
    right = 0
    for kind, r0, r1, h0, _ in chunks:
        if kind != "equal":
            continue
        for i in range(r1 - r0):
            right += ref[r0 + i] in wanted and hyp[h0 + i] == ref[r0 + i]
    return right, sum(1 for w in ref if w in wanted)


def differences(reference: str, hypothesis: str) -> list[Region]:
    """The regions where the hypothesis differs from the reference (neighbouring edits
    merged)."""
    ref, hyp, chunks = _align(reference, hypothesis)
    regions: list[Region] = []
    open_ref: list[str] = []
    open_hyp: list[str] = []
    for kind, r0, r1, h0, h1 in chunks:
        if kind == "equal":
            if open_ref or open_hyp:
                regions.append(Region(tuple(open_ref), tuple(open_hyp)))
            open_ref, open_hyp = [], []
        else:
            open_ref += ref[r0:r1]
            open_hyp += hyp[h0:h1]
    if open_ref or open_hyp:
        regions.append(Region(tuple(open_ref), tuple(open_hyp)))
    return regions


def derive_corrections(pairs: Iterable[tuple[str, str]], names: Iterable[str]) -> dict[str, str]:
    """Corrections ``heard phrase -> name`` from (reference, hypothesis) pairs: wherever the
    reference says only names and the recognizer wrote other words there (at most
    :data:`EXTRA_HEARD_WORDS` more than the names). A heard phrase that the references say
    themselves is refused (``"family" = "Fanny"`` would break every "family"), as is a heard
    phrase seen for two spellings less often than for the other."""
    wanted = set(names)
    listed = list(pairs)
    said = [f" {_lower(tokens(reference))} " for reference, _ in listed]
    seen: Counter[tuple[str, str]] = Counter()
    for reference, hypothesis in listed:
        for region in differences(reference, hypothesis):
            if not region.reference or not all(w in wanted for w in region.reference):
                continue
            if not 1 <= len(region.hypothesis) <= len(region.reference) + EXTRA_HEARD_WORDS:
                continue
            if any(f" {_lower(region.hypothesis)} " in text for text in said):
                continue
            heard = " ".join(region.hypothesis).lower()
            written = " ".join(region.reference)
            if heard != written.lower():
                seen[(heard, written)] += 1
    corrections: dict[str, str] = {}
    for (heard, written), _ in seen.most_common():
        corrections.setdefault(heard, written)
    return dict(sorted(corrections.items()))


@dataclass(frozen=True)
class Score:
    """One condition's figures over a set of clips."""

    wer: float
    names_right: int
    names_total: int

    @property
    def name_accuracy(self) -> float | None:
        """Names right with their capitals, as a share of the reference's names."""
        return self.names_right / self.names_total if self.names_total else None

    def as_dict(self) -> dict[str, object]:
        """For bench.json."""
        accuracy = self.name_accuracy
        return {
            "wer": round(self.wer, 3),
            "name_accuracy": None if accuracy is None else round(accuracy, 3),
            "names_right": self.names_right,
            "names_total": self.names_total,
        }


def score(references: Sequence[str], hypotheses: Sequence[str], names: Iterable[str]) -> Score:
    """WER and name accuracy of ``hypotheses`` against ``references``."""
    listed = tuple(names)
    hits = [name_hits(r, h, listed) for r, h in zip(references, hypotheses, strict=True)]
    return Score(
        wer(list(references), list(hypotheses)),
        sum(h[0] for h in hits),
        sum(h[1] for h in hits),
    )

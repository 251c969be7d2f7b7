"""Voice to screen, the pure part: reference words with known timings, what the kiosk showed and
when, matched word by word into latencies. No I/O, no clock, no event loop: data in, figures out.

The reference is a forced alignment of the clean recordings (word start and end in the played
audio). The screen is a list of :class:`Shown` records: each time the text of a partial or a
final line of the kiosk changed, the page's clock and the new text. The recognizer makes
errors, so only words whose recognized text matches the reference word (after a word-level
edit-distance alignment, as WER is computed) are timed; how many matched is reported.

A word's *voice time* is when its end was spoken: the audio is sent in frames as a live node
would send them (a frame leaves when its last sample has been spoken), so a position ``a`` in
frame ``k`` was spoken ``(k + 1) * frame_s - a`` before that frame was sent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.lib.wer import SPELLINGS

FILLERS = re.compile(r"^(<.*>|\[.*\]|\+\+.*\+\+)$")
"""pocketsphinx's non-words in an alignment: ``<s>``, ``<sil>``, ``[NOISE]``, ``++UH++``."""


@dataclass(frozen=True)
class RefWord:
    """One word of the reference alignment, positioned in the played audio."""

    text: str
    """The word, normalized (lower case, no punctuation)."""
    start_s: float
    """Where the word starts in the played audio, seconds."""
    end_s: float
    """Where it ends, seconds."""


@dataclass(frozen=True)
class Shown:
    """A caption line of the kiosk whose text changed (or appeared)."""

    at: float
    """When, seconds on the wall clock (the page's ``Date.now()`` / 1000)."""
    kind: str
    """``partial`` or ``final``."""
    segment: int
    """The caption's segment id (a partial and the final replacing it share it)."""
    text: str
    """The line's text as displayed."""


@dataclass
class Segment:
    """What the screen showed of one segment: its final and when each final word first
    appeared (in a partial, or with the final itself)."""

    words: list[str]
    """The final's words, normalized."""
    final_at: float
    """When the final first appeared."""
    first_seen: list[float]
    """Per final word: the earliest time it was on screen."""
    seen_in_partial: list[bool] = field(default_factory=list)
    """Per final word: whether a partial showed it before the final."""


def normalize(text: str) -> list[str]:
    """The words of ``text`` compared case- and punctuation-blind (``"Mr. Dashwood."`` ->
    ``["mister", "dashwood"]``; apostrophes inside words are kept, the dictionary's spellings
    of :data:`bench.lib.wer.SPELLINGS` as the corpus's)."""
    out = []
    for raw in text.lower().split():
        word = re.sub(r"[^a-z0-9']+", "", raw).strip("'")
        if word:
            out.append(SPELLINGS.get(word, word))
    return out


def reference_word(token: str) -> str | None:
    """A word of a pocketsphinx segmentation as text (``was(2)`` -> ``was``; fillers: None)."""
    if FILLERS.match(token):
        return None
    words = normalize(re.sub(r"\(\d+\)$", "", token))
    return words[0] if len(words) == 1 else None


def align(ref: Sequence[str], hyp: Sequence[str], *, prefix: bool = False) -> list[tuple[int, int]]:
    """The ``(ref index, hyp index)`` pairs of equal words in a minimum edit-distance alignment
    of ``hyp`` against ``ref`` (substitutions, insertions and deletions cost 1; ties prefer a
    match, then a substitution). With ``prefix``, ``hyp`` is aligned with the shortest best
    matching beginning of ``ref`` (a partial against its final: the words not said yet cost
    nothing)."""
    n, m = len(ref), len(hyp)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = i
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        row, above = cost[i], cost[i - 1]
        for j in range(1, m + 1):
            diagonal = above[j - 1] + (0 if ref[i - 1] == hyp[j - 1] else 1)
            row[j] = min(diagonal, above[j] + 1, row[j - 1] + 1)
    pairs = []
    i, j = n, m
    if prefix:
        i = min(range(n + 1), key=lambda end: cost[end][m])
    while i > 0 and j > 0:
        same = ref[i - 1] == hyp[j - 1]
        if cost[i][j] == cost[i - 1][j - 1] + (0 if same else 1):
            if same:
                pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif cost[i][j] == cost[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    pairs.reverse()
    return pairs


def voice_time(position_s: float, frame_s: float, sent_at: Sequence[float]) -> float | None:
    """When the audio at ``position_s`` was spoken, on the wall clock: the send time of the
    frame holding it, less what that frame holds after it. None if that frame was not sent."""
    k = max(0, math.ceil(position_s / frame_s - 1e-9) - 1)
    if k >= len(sent_at):
        return None
    return sent_at[k] - ((k + 1) * frame_s - position_s)


def segments(shown: Sequence[Shown]) -> dict[int, Segment]:
    """The segments that became final, with the first appearance of each final word.

    A final word counts as shown by a partial from the first partial of its segment whose
    words, aligned with the beginning of the final's, include it; otherwise from the final
    itself. Partials of a
    segment that never became final are ignored.
    """
    ordered = sorted(shown, key=lambda s: s.at)
    finals: dict[int, Shown] = {}
    for item in ordered:
        if item.kind == "final" and item.segment not in finals and normalize(item.text):
            finals[item.segment] = item
    out: dict[int, Segment] = {}
    for seg_id, final in finals.items():
        words = normalize(final.text)
        first = [final.at] * len(words)
        in_partial = [False] * len(words)
        for item in ordered:
            if item.kind != "partial" or item.segment != seg_id or item.at > final.at:
                continue
            for j_final, _ in align(words, normalize(item.text), prefix=True):
                if item.at < first[j_final]:
                    first[j_final] = item.at
                    in_partial[j_final] = True
        out[seg_id] = Segment(words, final.at, first, in_partial)
    return out


def latencies(
    ref: Sequence[RefWord], shown: Sequence[Shown], frame_s: float, sent_at: Sequence[float]
) -> dict[str, Any]:
    """Voice-to-screen latencies, seconds.

    ``partial``: per matched word, its first appearance on screen minus the moment its end was
    spoken. ``final``: per final whose last word matched a reference word, its appearance
    minus the moment that word's end was spoken (the utterance end: the pause begins there).
    ``word_final``: per matched word, its final's appearance minus its own end. Counts of
    reference words, recognized words, matched words and timed finals come along.
    """
    segs = segments(shown)
    order = sorted(segs)
    hyp: list[tuple[int, int]] = [(s, j) for s in order for j in range(len(segs[s].words))]
    hyp_words = [segs[s].words[j] for s, j in hyp]
    pairs = align([w.text for w in ref], hyp_words)
    partial, word_final, final = [], [], []
    matched_in_partial = 0
    last_matched: dict[int, int] = {}
    for i, h in pairs:
        seg_id, j = hyp[h]
        spoken = voice_time(ref[i].end_s, frame_s, sent_at)
        if spoken is None:
            continue
        seg = segs[seg_id]
        partial.append(seg.first_seen[j] - spoken)
        word_final.append(seg.final_at - spoken)
        matched_in_partial += seg.seen_in_partial[j]
        if j == len(seg.words) - 1:
            last_matched[seg_id] = i
    for seg_id, i in last_matched.items():
        spoken = voice_time(ref[i].end_s, frame_s, sent_at)
        if spoken is not None:
            final.append(segs[seg_id].final_at - spoken)
    return {
        "reference_words": len(ref),
        "recognized_words": len(hyp_words),
        "matched_words": len(partial),
        "matched_seen_in_partial": matched_in_partial,
        "finals": len(segs),
        "finals_timed": len(final),
        "partial": partial,
        "final": final,
        "word_final": word_final,
    }

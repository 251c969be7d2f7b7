"""Speech full of names, for the glossary's word error rate (:mod:`bench.parts.glossary_wer`).

Jane Austen's *Sense and Sensibility*, the book of the LibriVox recordings: its characters' and
places' names (the glossary's terms, as a conference's speaker list would be), and sentences
written after its chapters (not quotations) that say them, spoken by Debian's ``flite`` in
three voices. The sentences are in two sets that share no sentence: **train** (where the
glossary's corrections are derived from the recognizer's mistakes and its weight chosen) and
**test** (where the glossary is scored, with the five LibriVox recordings: a human reader, one
of them saying "mister john dashwood").
"""

from __future__ import annotations

import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

from bench.lib.speechref import SPEECH_DIR, file_ids

NAMES = (
    "Dashwood", "Elinor", "Marianne", "Margaret", "Henry", "John", "Fanny", "Norland",
    "Barton", "Sussex", "Devonshire", "Ferrars", "Edward", "Robert", "Willoughby", "Brandon",
    "Delaford", "Jennings", "Middleton", "Palmer", "Charlotte", "Steele", "Lucy", "Anne",
    "Allenham", "Combe", "Cleveland", "Harley",
)  # fmt: skip
"""The book's people and places: the glossary's terms."""

TRAIN = (
    "The family of Dashwood had long been settled in Sussex.",
    "Their estate was large and their residence was at Norland Park.",
    "Elinor the eldest daughter possessed a strength of understanding.",
    "Marianne was generous amiable and interesting.",
    "Edward Ferrars was not recommended to their good opinion by any peculiar graces of person.",
    "Colonel Brandon was silent and grave.",
    "Sir John Middleton was a good looking man of about forty.",
    "Mrs Jennings was a widow with an ample jointure.",
    "Willoughby was a young man of good abilities.",
    "Lucy Steele was very pretty and had a sharp quick eye.",
    "Margaret the other sister was a good humoured well disposed girl.",
    "Barton Cottage was comfortable and compact.",
    "Mister Palmer was a grave looking young man.",
    "Fanny Dashwood did not at all approve of what her husband intended.",
)
TEST = (
    "Mrs Dashwood and her daughters left Norland for Barton.",
    "Elinor saw that Edward Ferrars was unhappy.",
    "Marianne could not sleep at all that night.",
    "Colonel Brandon had an estate at Delaford.",
    "Sir John Middleton invited them to dine at Barton Park.",
    "Mrs Jennings laughed heartily at Marianne and Willoughby.",
    "Lucy Steele told Elinor of her secret engagement to Edward.",
    "Willoughby came to the cottage every day.",
    "Margaret was sent to her room by her mother.",
    "Mrs Palmer was the youngest daughter of Mrs Jennings.",
)
VOICES = ("slt", "kal16", "rms")
"""flite's 16 kHz voices (``kal`` is 8 kHz, ``awb`` decodes badly)."""
QUICK_VOICES = ("kal16",)


@dataclass(frozen=True)
class Clip:
    """One recording and what it says, names with their capitals."""

    name: str
    pcm: bytes
    """16 kHz s16le mono."""
    reference: str


def with_capitals(text: str) -> str:
    """``text`` with the book's names written with their capitals (the LibriVox transcripts
    are lowercase)."""
    names = {n.lower(): n for n in NAMES}
    return " ".join(names.get(word, word) for word in text.split())


def _read(path: Path) -> bytes:
    with wave.open(str(path)) as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (16000, 1, 2):
            raise ValueError(f"{path}: not 16 kHz mono s16le")
        return w.readframes(w.getnframes())


def spoken(sentences: tuple[str, ...], voices: tuple[str, ...], tag: str) -> list[Clip]:
    """``sentences`` spoken by flite in each of ``voices``."""
    clips = []
    with tempfile.TemporaryDirectory(prefix="glossary-wer-") as folder:
        for index, text in enumerate(sentences):
            for voice in voices:
                wav = Path(folder) / f"{tag}-{index:02d}-{voice}.wav"
                subprocess.run(
                    ["flite", "-voice", voice, "-t", text, "-o", str(wav)], check=True, timeout=60
                )
                clips.append(Clip(wav.stem, _read(wav), text))
    return clips


def librivox() -> list[Clip]:
    """The five LibriVox recordings, their transcripts with the names' capitals."""
    clips = []
    for i in file_ids():
        reference = with_capitals((SPEECH_DIR / f"{i}.txt").read_text())
        clips.append(Clip(i, _read(SPEECH_DIR / f"{i}.wav"), reference))
    return clips

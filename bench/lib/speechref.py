"""Speech with known word timings: the LibriVox recordings, joined with pauses into one 16 kHz
mono stream, and each word's start and end in it from a pocketsphinx forced alignment of the
clean file against its transcript (``Decoder.set_align_text``, then ``seg()``: frames of 10 ms).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bench.lib.wordtiming import RefWord, reference_word

ROOT = Path(__file__).resolve().parents[2]
SPEECH_DIR = Path(os.environ.get("LIBRIVOX_DIR", ROOT / ".cache" / "speech" / "librivox"))
RATE = 16000
FRAMES_PER_S = 100


@dataclass(frozen=True)
class Speech:
    """The audio to play and its reference words."""

    pcm: bytes
    """16 kHz s16le mono: the recordings with ``pause_s`` of silence after each."""
    words: list[RefWord]
    """Every spoken word, positioned in ``pcm``."""
    files: list[str]
    """The recordings' ids, in order."""

    @property
    def seconds(self) -> float:
        """Duration of ``pcm``."""
        return len(self.pcm) / (2 * RATE)


def file_ids() -> list[str]:
    """The recordings' ids (``fileids`` of the LibriVox folder)."""
    return (SPEECH_DIR / "fileids").read_text().split()


def align_file(decoder: object, pcm: bytes, transcript: str) -> list[tuple[str, float, float]]:
    """``(word, start_s, end_s)`` of each word of ``transcript`` in ``pcm`` (fillers left out)."""
    decoder.set_align_text(transcript)  # type: ignore[attr-defined]
    decoder.start_utt()  # type: ignore[attr-defined]
    decoder.process_raw(pcm, full_utt=True)  # type: ignore[attr-defined]
    decoder.end_utt()  # type: ignore[attr-defined]
    out = []
    for seg in decoder.seg():  # type: ignore[attr-defined]
        word = reference_word(seg.word)
        if word is not None:
            out.append((word, seg.start_frame / FRAMES_PER_S, (seg.end_frame + 1) / FRAMES_PER_S))
    return out


def load(ids: list[str], pause_s: float = 1.0, repeat: int = 1) -> Speech:
    """The recordings ``ids`` (``repeat`` times over), ``pause_s`` of silence after each, with
    their forced alignment."""
    import soundfile
    from pocketsphinx import Decoder

    decoder = Decoder(loglevel="ERROR")
    aligned: dict[str, tuple[bytes, list[tuple[str, float, float]]]] = {}
    for name in ids:
        data, rate = soundfile.read(SPEECH_DIR / f"{name}.wav", dtype="int16")
        if rate != RATE or data.ndim != 1:
            raise ValueError(f"{name}: the recordings are 16 kHz mono")
        pcm = data.tobytes()
        transcript = (SPEECH_DIR / f"{name}.txt").read_text().strip()
        aligned[name] = (pcm, align_file(decoder, pcm, transcript))
    out = bytearray()
    words: list[RefWord] = []
    played: list[str] = []
    silence = bytes(2 * round(pause_s * RATE))
    for _ in range(repeat):
        for name in ids:
            pcm, timings = aligned[name]
            offset = len(out) / (2 * RATE)
            words += [RefWord(w, offset + start, offset + end) for w, start, end in timings]
            out += pcm + silence
            played.append(name)
    return Speech(bytes(out), words, played)

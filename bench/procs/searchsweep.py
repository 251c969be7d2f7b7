"""CPU and accuracy of each search profile: ``python -m bench.procs.searchsweep [--repeat N]``.

Streams the LibriVox set through the product's :class:`StreamingDecoder` (endpointer, partials
every 0.3 s, finals at pauses: what the worker does) once per profile of
:mod:`edge_server.engines.pocketsphinx.search`, in 100 ms chunks, and measures the CPU seconds
(this process: one thread) per second of audio, the most CPU one chunk took (a final's burst
falls there), and the word error rate. Prints one JSON object. Making each decoder is not
counted (it happens once per worker).
"""

from __future__ import annotations

import argparse
import json
import time
import wave
from pathlib import Path
from typing import Any

from bench.lib.wer import wer
from edge_server.engines.pocketsphinx.decoder import StreamingDecoder
from edge_server.engines.pocketsphinx.search import PROFILES
from edge_server.engines.pocketsphinx.worker_protocol import DecoderOptions

ROOT = Path(__file__).resolve().parents[2]
LIBRIVOX = ROOT / ".cache" / "speech" / "librivox"
CHUNK = 3200
GAP = b"\0" * 32000


def corpus(folder: Path = LIBRIVOX) -> list[tuple[bytes, str]]:
    """The LibriVox recordings (16 kHz mono PCM) with their reference texts."""
    out = []
    for name in (folder / "fileids").read_text().split():
        with wave.open(str(folder / f"{name}.wav")) as w:
            pcm = w.readframes(w.getnframes())
        out.append((pcm, (folder / f"{name}.txt").read_text().strip()))
    return out


def sweep_one(name: str, files: list[tuple[bytes, str]], repeat: int) -> dict[str, Any]:
    """One profile's figures over ``repeat`` passes of the set with one decoder, as a worker
    keeps it (its noise estimate carries over). CPU: the quickest pass, to damp a busy
    machine; WER: over every pass's finals."""
    decoder = StreamingDecoder(DecoderOptions(search=name))
    best_cpu = float("inf")
    worst_chunk = 0.0
    references: list[str] = []
    hypotheses: list[str] = []
    audio_s = sum(len(pcm) + len(GAP) for pcm, _ in files) / 32000
    for _ in range(repeat):
        cpu = 0.0
        for pcm, reference in files:
            decoder.start_stream()
            texts = []
            data = pcm + GAP
            for offset in range(0, len(data), CHUNK):
                started = time.process_time()
                events = decoder.process(data[offset : offset + CHUNK])
                took = time.process_time() - started
                cpu += took
                worst_chunk = max(worst_chunk, took)
                texts += [e["text"] for e in events if e["t"] == "final"]
            started = time.process_time()
            texts += [e["text"] for e in decoder.finish() if e["t"] == "final"]
            cpu += time.process_time() - started
            references.append(reference)
            hypotheses.append(" ".join(texts))
        best_cpu = min(best_cpu, cpu)
    return {
        "profile": name,
        "settings": PROFILES[name].settings,
        "cpu_per_audio_s": round(best_cpu / audio_s, 4),
        "worst_chunk_cpu_s": round(worst_chunk, 3),
        "wer": round(wer(references, hypotheses), 3),
        "words": sum(len(ref.split()) for ref in references),
    }


def main() -> None:
    """Command line: prints ``{"profiles": [...]}``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = corpus()
    results = [sweep_one(name, files, args.repeat) for name in PROFILES]
    print(json.dumps({"profiles": results}))


if __name__ == "__main__":
    main()

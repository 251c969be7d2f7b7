"""What the glossary does to the embedded engine's word error rate, on speech full of names.

The real recognizer (:class:`~edge_server.engines.pocketsphinx.recognizer.PocketsphinxRecognizer`:
its worker process, endpointer and streaming decoder, the ``accurate`` search, each clip one
stream followed by a second of silence) on the clips of :mod:`bench.lib.glossary_speech`, in
three conditions:

- **none**: no glossary; the recognizer's finals as the room gets them (sentence case);
- **corrections**: the same finals through the glossary as the room applies it to every final
  (:meth:`~edge_server.core.glossary.Glossary.apply`: corrections, then the terms' capitals);
- **engine**: the glossary handed to the recognizer as well (its words taught to pocketsphinx,
  :mod:`edge_server.engines.pocketsphinx.vocabulary`), then applied to the finals.

The glossary is honest about what it knows: its terms are the book's names (as a conference's
speaker list), its corrections are derived from the mistakes the recognizer made on the
**train** clips (names misheard as other words, :func:`bench.lib.name_scores.derive_corrections`),
and in a full run the weight of the taught words is chosen on the train clips too. Everything is
scored on the **test** clips: other sentences, and the five LibriVox recordings (a human
reader). Figures: :mod:`bench.lib.name_scores` (case-insensitive WER; name accuracy with
capitals).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from bench.lib import glossary_speech as speech
from bench.lib.name_scores import derive_corrections, score
from edge_server.core.glossary import Glossary
from edge_server.engines.pocketsphinx.recognizer import PocketsphinxRecognizer
from edge_server.engines.pocketsphinx.worker_protocol import DecoderOptions

CHUNK = 3200
"""100 ms of audio per send."""
TAIL = bytes(32000)
"""A second of silence after each clip: the endpointer's pause."""
WEIGHTS = (300.0, 3000.0, 30000.0)
"""Weights tried on the train clips in a full run (the product's default is one of them)."""


async def _stream(recognizer: PocketsphinxRecognizer, pcm: bytes) -> str:
    stream = await recognizer.open_stream("en-US")

    async def feed() -> None:
        for offset in range(0, len(pcm), CHUNK):
            await stream.send_audio(pcm[offset : offset + CHUNK])
        await stream.finish()

    feeding = asyncio.create_task(feed())
    finals = [h.text async for h in stream.results() if h.is_final]
    await feeding
    return " ".join(finals)


async def recognize(
    clips: list[speech.Clip], glossary: Glossary | None, options: DecoderOptions
) -> list[str]:
    """Each clip's finals, joined, from a fresh recognizer (with ``glossary`` taught)."""
    # Fed faster than real time on purpose: its "falling behind" warnings say nothing here.
    logging.getLogger(PocketsphinxRecognizer.__module__).setLevel(logging.ERROR)
    recognizer = PocketsphinxRecognizer("glossary bench", options)
    if glossary is not None:
        recognizer.use_glossary(glossary)
    try:
        return [await asyncio.wait_for(_stream(recognizer, c.pcm + TAIL), 120) for c in clips]
    finally:
        await recognizer.close()


def _scores(clips: list[speech.Clip], texts: list[str]) -> dict[str, Any]:
    refs = [c.reference for c in clips]
    flite = [i for i, c in enumerate(clips) if not c.name.startswith("sense_and")]
    human = [i for i, c in enumerate(clips) if c.name.startswith("sense_and")]
    out: dict[str, Any] = {"all": score(refs, texts, speech.NAMES).as_dict()}
    for label, picked in (("flite", flite), ("librivox", human)):
        if picked:
            out[label] = score(
                [refs[i] for i in picked], [texts[i] for i in picked], speech.NAMES
            ).as_dict()
    return out


async def measure(quick: bool, log: Callable[[str], None]) -> dict[str, Any]:
    """Run the three conditions; see the module's docstring."""
    voices = speech.QUICK_VOICES if quick else speech.VOICES
    train = speech.spoken(speech.TRAIN, voices, "train")
    test = speech.spoken(speech.TEST, voices, "test") + speech.librivox()
    base = DecoderOptions(search="accurate")
    log(f"glossary_wer: {len(train)} train clips, {len(test)} test clips")

    heard_train = await recognize(train, None, base)
    corrections = derive_corrections(
        ((c.reference, h) for c, h in zip(train, heard_train, strict=True)), speech.NAMES
    )
    glossary = Glossary.of(corrections, speech.NAMES)
    log(f"glossary_wer: corrections from the train clips: {corrections}")

    weight = base.glossary_weight
    sweep: dict[str, Any] = {}
    if not quick:
        for candidate in WEIGHTS:
            options = dataclasses.replace(base, glossary_weight=candidate)
            texts = [glossary.apply(t) for t in await recognize(train, glossary, options)]
            sweep[f"{candidate:g}"] = _scores(train, texts)["all"]
            log(f"glossary_wer: train, weight {candidate:g}: {sweep[f'{candidate:g}']}")
        default = base.glossary_weight  # kept on a tie
        weight = min(WEIGHTS, key=lambda w: (sweep[f"{w:g}"]["wer"], w != default))
    taught = dataclasses.replace(base, glossary_weight=weight)

    heard = await recognize(test, None, base)
    engine = await recognize(test, glossary, taught)
    conditions = {
        "none": _scores(test, heard),
        "corrections": _scores(test, [glossary.apply(t) for t in heard]),
        "engine": _scores(test, [glossary.apply(t) for t in engine]),
    }
    for name, found in conditions.items():
        log(f"glossary_wer: test, {name}: {found['all']}")
    examples = [
        {"clip": c.name, "reference": c.reference, "none": h,
         "corrections": glossary.apply(h), "engine": glossary.apply(e)}
        for c, h, e in zip(test, heard, engine, strict=True)
        if c.name.startswith("sense_and") or c.name.startswith("test-01")
    ]  # fmt: skip
    return {
        "voices": list(voices),
        "train_clips": [c.name for c in train],
        "test_clips": [c.name for c in test],
        "terms": list(speech.NAMES),
        "corrections": corrections,
        "weight": weight,
        "weight_sweep_on_train": sweep,
        "conditions": conditions,
        "examples": examples,
    }

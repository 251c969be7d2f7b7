"""The glossary in the real embedded recognizer: its words taught to pocketsphinx, written with
their capitals by the recognizer itself on a LibriVox recording that says "john dashwood";
applied between utterances; a bad glossary payload refused without losing the stream."""

from __future__ import annotations

import asyncio
import json
import wave
from pathlib import Path

import pytest

from edge_server.core.glossary import Glossary
from edge_server.engines.pocketsphinx.decoder import StreamingDecoder
from edge_server.engines.pocketsphinx.recognizer import PocketsphinxRecognizer
from edge_server.engines.pocketsphinx.vocabulary import WrittenForm
from edge_server.engines.pocketsphinx.worker_protocol import Command, DecoderOptions

pytestmark = pytest.mark.speech
SILENCE_1S = b"\0" * 32000
DASHWOOD_CLIP = "sense_and_sensibility_01_austen_64kb-0870"
"""'and mister john dashwood had then leisure to consider ...'"""


def read_pcm(path: Path) -> bytes:
    with wave.open(str(path)) as w:
        return w.readframes(w.getnframes())


def decode(decoder: StreamingDecoder, pcm: bytes) -> list[dict[str, object]]:
    events = []
    for offset in range(0, len(pcm), 3200):
        events += decoder.process(pcm[offset : offset + 3200])
    return events


def test_the_decoder_writes_glossary_names_itself(librivox_dir: Path) -> None:
    pcm = read_pcm(librivox_dir / f"{DASHWOOD_CLIP}.wav") + SILENCE_1S
    decoder = StreamingDecoder(DecoderOptions(search="accurate"))
    decoder.start_stream()
    plain = [e["text"] for e in decode(decoder, pcm) if e["t"] == "final"]
    assert plain
    assert "john dashwood" in str(plain[0])  # lowercase: the dictionary's spelling

    applied = decoder.set_glossary((WrittenForm("John Dashwood"), WrittenForm("pretalx")))
    assert applied == [{"t": "glossary", "added": 2, "known": [], "unpronounceable": ["pretalx"]}]
    taught = [e["text"] for e in decode(decoder, pcm) if e["t"] == "final"]
    assert "John Dashwood" in str(taught[0])


def test_a_glossary_sent_mid_utterance_applies_after_its_final(librivox_dir: Path) -> None:
    pcm = read_pcm(librivox_dir / f"{DASHWOOD_CLIP}.wav") + SILENCE_1S
    decoder = StreamingDecoder(DecoderOptions(search="accurate"))
    decoder.start_stream()
    events = decode(decoder, pcm[: len(pcm) // 2])
    assert decoder.set_glossary((WrittenForm("Dashwood"),)) == []  # in an utterance: later
    events += decode(decoder, pcm[len(pcm) // 2 :])
    events += decode(decoder, SILENCE_1S)  # the next audio after the final applies it
    kinds = [e["t"] for e in events if e["t"] in ("final", "glossary")]
    assert kinds == ["final", "glossary"]
    # the utterance in progress kept the decoder it began with; later ones use the glossary
    assert "dashwood" in str(next(e for e in events if e["t"] == "final")["text"])
    taught = [e["text"] for e in decode(decoder, pcm) if e["t"] == "final"]
    assert "Dashwood" in str(taught[0])


async def run_stream(recognizer: PocketsphinxRecognizer, pcm: bytes) -> list[str]:
    stream = await recognizer.open_stream("en-US")

    async def feed() -> None:
        for offset in range(0, len(pcm), 3200):
            await stream.send_audio(pcm[offset : offset + 3200])
        await stream.finish()

    feeding = asyncio.create_task(feed())
    finals = [h.text async for h in stream.results() if h.is_final]
    await asyncio.wait_for(feeding, 30)
    return finals


async def test_the_glossary_reaches_the_worker_process(
    librivox_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="edge_server.engines.pocketsphinx.recognizer")
    pcm = read_pcm(librivox_dir / f"{DASHWOOD_CLIP}.wav") + SILENCE_1S
    recognizer = PocketsphinxRecognizer("room t", DecoderOptions(search="accurate"))
    try:
        recognizer.use_glossary(Glossary.of({}, ["Dashwood", "John"]))  # before the worker runs
        first = await asyncio.wait_for(run_stream(recognizer, pcm), 60)
        assert "Mr. John Dashwood" in first[0]  # sentence case, and the names from the worker
        assert "2 words added" in caplog.text

        # a changed glossary goes to the running worker: a word taken out rebuilds its decoder
        recognizer.use_glossary(Glossary.of({}, ["John"]))
        second = await asyncio.wait_for(run_stream(recognizer, pcm), 60)
        assert "John dashwood" in second[0]
    finally:
        await recognizer.close()


async def test_a_bad_glossary_payload_is_refused_and_the_stream_goes_on(
    librivox_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pcm = read_pcm(librivox_dir / f"{DASHWOOD_CLIP}.wav") + SILENCE_1S
    recognizer = PocketsphinxRecognizer("room t", DecoderOptions(search="accurate"))
    try:
        recognizer.use_glossary(Glossary.of({}, ["Dashwood"]))
        stream = await recognizer.open_stream("en-US")
        worker = recognizer._worker  # the real process: send it what the server never would
        assert worker is not None
        await worker.send(Command.GLOSSARY, json.dumps({"written": "not a list"}).encode())
        await worker.send(Command.GLOSSARY, b"\xff not json")
        huge = Glossary.of({}, [f"Name{'x' * 250}{i}" for i in range(4500)])
        recognizer.use_glossary(huge)  # over the record size: not sent, and said so
        assert "too large for the offline recognizer" in caplog.text
        for offset in range(0, len(pcm), 3200):
            await stream.send_audio(pcm[offset : offset + 3200])
        await stream.finish()
        finals = [h.text async for h in stream.results() if h.is_final]
        assert "Dashwood" in finals[0]  # the glossary it had is kept
        assert worker.alive
        assert caplog.text.count("refused the glossary") == 2
    finally:
        await recognizer.close()

"""The embedded recognizer: worker framing (pure), the streaming decoder, the worker process."""

from __future__ import annotations

import asyncio
import itertools
import wave
from pathlib import Path

import pytest

from edge_server.core.engine_api import EngineError, UnsupportedLanguage
from edge_server.engines.pocketsphinx.decoder import StreamingDecoder
from edge_server.engines.pocketsphinx.recognizer import PocketsphinxRecognizer
from edge_server.engines.pocketsphinx.worker_protocol import (
    HEADER,
    Command,
    DecoderOptions,
    decode_event,
    decode_header,
    encode_command,
    encode_event,
)

SILENCE_1S = b"\0" * 32000


def read_pcm(path: Path) -> bytes:
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        return w.readframes(w.getnframes())


def test_worker_framing_round_trip() -> None:
    record = encode_command(Command.AUDIO, b"\1\2\3\4")
    assert decode_header(record[: HEADER.size]) == (Command.AUDIO, 4)
    assert record[HEADER.size :] == b"\1\2\3\4"
    assert decode_event(encode_event({"t": "final", "text": "é"})) == {"t": "final", "text": "é"}
    with pytest.raises(ValueError, match="unexpected line"):
        decode_event(b'{"no": "t"}\n')
    with pytest.raises(ValueError, match="exceeds"):
        decode_header(HEADER.pack(b"A", 1 << 21))
    with pytest.raises(ValueError, match="is not a valid Command"):
        decode_header(HEADER.pack(b"?", 0))


@pytest.mark.speech
def test_decoder_partials_then_finals_at_pauses(librivox_files: list[tuple[Path, str]]) -> None:
    decoder = StreamingDecoder()
    decoder.start_stream()
    events = []
    pcm = b"".join(read_pcm(wav) + SILENCE_1S for wav, _ in librivox_files[:2])
    for offset in range(0, len(pcm), 3200):
        events += decoder.process(pcm[offset : offset + 3200])
    events += decoder.finish()
    finals = [e for e in events if e["t"] == "final"]
    partials = [e for e in events if e["t"] == "partial"]
    assert len(finals) == 2, finals
    assert len(partials) >= 5
    assert "young man" in finals[1]["text"]
    assert 0.0 <= finals[0]["start"] < finals[0]["end"] <= finals[1]["start"] < finals[1]["end"]
    assert finals[1]["end"] <= len(pcm) / 32000


@pytest.mark.speech
def test_finish_finalizes_the_utterance_in_progress(librivox_files: list[tuple[Path, str]]) -> None:
    decoder = StreamingDecoder()
    decoder.start_stream()
    pcm = read_pcm(librivox_files[1][0])
    events = decoder.process(pcm[: len(pcm) * 3 // 4])  # cut mid-sentence
    assert not [e for e in events if e["t"] == "final"]
    finals = [e for e in decoder.finish() if e["t"] == "final"]
    assert len(finals) == 1
    assert finals[0]["text"].startswith(("he was", "it was"))


@pytest.mark.speech
def test_long_speech_without_pause_is_split(librivox_files: list[tuple[Path, str]]) -> None:
    decoder = StreamingDecoder(DecoderOptions(max_utterance_s=3.0))
    decoder.start_stream()
    events = decoder.process(read_pcm(librivox_files[0][0])) + decoder.finish()
    finals = [e for e in events if e["t"] == "final"]
    assert len(finals) >= 2
    for before, after in itertools.pairwise(finals):
        assert after["start"] >= before["end"] - 1e-6


@pytest.mark.speech
async def test_worker_process_streams_and_restarts_after_a_crash(
    librivox_files: list[tuple[Path, str]],
) -> None:
    recognizer = PocketsphinxRecognizer("test")
    try:
        with pytest.raises(UnsupportedLanguage, match="only en-US"):
            await recognizer.open_stream("it-IT")
        pcm = read_pcm(librivox_files[1][0])

        async def transcribe() -> list[str]:
            stream = await recognizer.open_stream("en-US")

            async def collect() -> list[str]:
                return [h.text async for h in stream.results() if h.is_final]

            results = asyncio.create_task(collect())
            for offset in range(0, len(pcm), 3200):
                await stream.send_audio(pcm[offset : offset + 3200])
            await stream.finish()
            return await asyncio.wait_for(results, 30)

        first = await transcribe()
        assert len(first) == 1
        assert "young man" in first[0]

        worker = recognizer._worker
        assert worker is not None
        stream = await recognizer.open_stream("en-US")
        worker.proc.kill()
        with pytest.raises(EngineError, match="exited"):
            async for _ in stream.results():
                pass
        # The next stream gets a fresh worker.
        assert await transcribe() == first
    finally:
        await recognizer.close()

"""The speed ladder in the worker: steps applied between utterances, progress reports, and a
room that steps to a faster search when it falls behind (with rules that make it fall behind
at once: audio sent faster than real time always lags)."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import pytest

from edge_server.core.pace import PaceRules
from edge_server.core.settings import OFFLINE_SEARCH, ServerSettings, SettingsError
from edge_server.engines.pocketsphinx.decoder import StreamingDecoder
from edge_server.engines.pocketsphinx.recognizer import PocketsphinxRecognizer
from edge_server.engines.pocketsphinx.search import CHOICES, LADDER, PROFILES, ladder_for
from edge_server.engines.pocketsphinx.worker_protocol import DecoderOptions

SILENCE_1S = b"\0" * 32000


def read_pcm(path: Path) -> bytes:
    with wave.open(str(path)) as w:
        return w.readframes(w.getnframes())


def test_the_setting_and_the_ladder_name_the_same_profiles() -> None:
    assert set(OFFLINE_SEARCH) == set(CHOICES)
    assert [p.name for p in LADDER] == ["accurate", "fast", "fastest"]
    assert ladder_for("adaptive") == LADDER
    assert ladder_for("classic") == (PROFILES["classic"],)
    with pytest.raises(ValueError, match="not one of"):
        ladder_for("turbo")
    with pytest.raises(SettingsError, match="offline_search 'turbo'"):
        ServerSettings(offline_search="turbo")


@pytest.mark.speech
def test_a_step_waits_for_the_end_of_the_utterance(librivox_files: list[tuple[Path, str]]) -> None:
    decoder = StreamingDecoder(DecoderOptions(progress_interval_s=1.0))
    decoder.start_stream()
    pcm = read_pcm(librivox_files[0][0]) + SILENCE_1S + read_pcm(librivox_files[1][0])
    half = len(pcm) // 4 // 3200 * 3200
    events = decoder.process(pcm[:half])  # mid-utterance
    assert decoder.request_step(1) == []  # not yet
    assert decoder.step == 0
    for offset in range(half, len(pcm), 3200):
        events += decoder.process(pcm[offset : offset + 3200])
    events += decoder.finish()
    kinds = [e["t"] for e in events]
    first_final = kinds.index("final")
    assert kinds.index("step") > first_final  # applied after that utterance's final
    assert events[kinds.index("step")] == {"t": "step", "step": 1, "name": "fast"}
    assert decoder.step == 1
    assert [e["t"] for e in events].count("final") == 2
    progress = [e["at"] for e in events if e["t"] == "progress"]
    assert progress == sorted(progress)
    assert len(progress) >= 5  # about every second of audio decoded
    assert progress[-1] >= len(pcm) / 32000 - 1.1
    # Between utterances a step applies at once, clamped to the ladder.
    assert decoder.request_step(9) == [{"t": "step", "step": 2, "name": "fastest"}]
    assert decoder.request_step(2) == []


@pytest.mark.speech
async def test_a_room_that_lags_steps_to_a_faster_search(
    librivox_files: list[tuple[Path, str]],
) -> None:
    eager = PaceRules(slower_above_s=0.01, faster_below_s=0.0, hold_slower_s=0.0,
                      behind_above_s=0.01)  # fmt: skip
    recognizer = PocketsphinxRecognizer("room test", pace=eager)
    assert recognizer.health().search == "accurate"
    try:
        stream = await recognizer.open_stream("en-US")
        pcm = b"".join(read_pcm(wav) + SILENCE_1S for wav, _ in librivox_files)

        async def feed() -> None:
            for offset in range(0, len(pcm), 3200):
                await stream.send_audio(pcm[offset : offset + 3200])
            await stream.finish()

        feeder = asyncio.ensure_future(feed())
        finals = [h for h in [h async for h in stream.results()] if h.is_final]
        await feeder
        health = recognizer.health()
        assert health.search == "fastest"
        assert health.lag_s is not None
        assert health.lag_s > 0
        assert health.behind  # at the fastest step and still lagging
        assert len(finals) == len(librivox_files)
        assert all(f.text[0].isupper() and f.text.endswith(".") for f in finals)
        # A new stream (after a worker restart too) starts where the room is on the ladder.
        await recognizer.discard_worker()
        again = await recognizer.open_stream("en-US")
        await again.send_audio(read_pcm(librivox_files[1][0]) + SILENCE_1S)
        await again.finish()
        texts = [h.text for h in [h async for h in again.results()] if h.is_final]
        assert texts
        assert recognizer.health().search == "fastest"
    finally:
        await recognizer.close()

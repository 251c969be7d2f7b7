"""Listeners on the captions socket: choosing a language, speech after its text, one shared
synthesis per language, and the measured delay from a final to its first audio byte with the
local espeak-ng voice."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect

from edge_server.core.engine_api import SPEAKING, SpeakingVoice, SynthesizerHealth
from edge_server.core.settings import RoomSettings, ServerSettings
from edge_server.engines.espeak.synthesizer import EspeakSynthesizer
from tests.helpers.live_server import LiveServer, LiveServers, make_settings
from tests.helpers.scripted_engine import PrefixTranslator, ScriptedRecognizer, word_audio
from tests.helpers.wire import open_audio, recv_json

ROOM = RoomSettings(targets=("it", "de"), translator="amazon-translate")


class CountingSynthesizer:
    """Wraps a synthesizer and counts its calls (to prove listeners share one synthesis)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls: list[tuple[str, str]] = []

    async def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]:
        self.calls.append((text, language))
        async for chunk in self.inner.synthesize(text, language):
            yield chunk

    async def close(self) -> None:
        await self.inner.close()

    def voice(self, language: str) -> SpeakingVoice:
        return self.inner.voice(language)

    def health(self) -> SynthesizerHealth:
        return self.inner.health()


async def _live(
    live_server: LiveServers, synthesizer: Any, room: RoomSettings = ROOM, **settings: Any
) -> LiveServer:
    recognizer = ScriptedRecognizer("scripted")
    return await live_server(
        make_settings(live_server.state_dir, default_room=room, max_frame_bytes=16000, **settings),
        recognizer_factory=lambda name, r, s: recognizer,
        synthesizer_factory=lambda name, r, s: synthesizer,
        translator_factory=lambda name, r, s: PrefixTranslator(),
    )


async def _listener(live: LiveServer, lang: str, audio: bool = True) -> ClientConnection:
    ws = await connect(f"{live.ws}/ws/captions/main?backlog=0&partials=0", open_timeout=10)
    status = await recv_json(ws)
    assert status["languages"] == ["en-US", "it", "de"]
    await ws.send(json.dumps({"type": "listen", "lang": lang, "audio": audio}))
    listening = await recv_json(ws)
    assert listening == {"type": "listening", "lang": lang, "audio": audio, "reason": None}
    return ws


async def _next(ws: ClientConnection) -> dict[str, Any]:
    """The next JSON message that is not a ``status`` update."""
    while True:
        message = await recv_json(ws)
        if message["type"] != "status":
            return message


async def _sentence(audio_ws: ClientConnection, words: Sequence[int]) -> None:
    for n in (*words, 0):
        await audio_ws.send(word_audio(n))


async def _read_sentence(ws: ClientConnection) -> tuple[dict[str, Any], bytes, float, float]:
    """final, its speech PCM, when the final arrived and when the first audio byte arrived."""
    final = await _next(ws)
    final_at = time.monotonic()
    assert final["type"] == "final"
    header = await _next(ws)
    assert header == {"type": "speech", "segment": final["segment"], "lang": header["lang"],
                      "sample_rate": 16000, "channels": 1, "format": "s16le",
                      "voice": {"engine": "espeak", "name": header["lang"],
                                "standing_in_for": None}}  # fmt: skip
    pcm = b""
    first_at = 0.0
    while True:
        message = await asyncio.wait_for(ws.recv(), 20)
        if isinstance(message, bytes):
            first_at = first_at or time.monotonic()
            assert len(message) % 2 == 0
            pcm += message
            continue
        end = json.loads(message)
        if end["type"] == "status":
            continue
        assert end == {"type": "speech_end", "segment": final["segment"], "lang": header["lang"],
                       "ok": True,
                       "voice": header["voice"]}  # fmt: skip
        return final, pcm, final_at, first_at


async def test_text_then_shared_speech_with_espeak(live_server: LiveServers) -> None:
    synthesizer = CountingSynthesizer(EspeakSynthesizer())
    live = await _live(live_server, synthesizer)
    italian = [await _listener(live, "it") for _ in range(3)]
    german = await _listener(live, "de")
    text_only = await _listener(live, "it", audio=False)
    audio_ws, ready = await open_audio(live.ws, "main")
    assert ready["type"] == "ready"
    delays = []
    for sentence in ([11, 12, 13], [21, 22], [31, 32, 33, 34]):
        await _sentence(audio_ws, sentence)
        heard = await asyncio.gather(*(_read_sentence(ws) for ws in italian))
        expected = "it " + " ".join(f"w{n}" for n in sentence)
        for final, pcm, final_at, first_at in heard:
            assert final["translations"]["it"] == expected
            assert len(pcm) > 16000  # more than half a second of speech
            assert first_at >= final_at  # text before its audio
            delays.append(first_at - final_at)
        assert len({pcm for _, pcm, _, _ in heard}) == 1  # the same audio for everyone
        final, pcm_de, _, _ = await _read_sentence(german)
        assert final["translations"]["de"].startswith("de ")
        assert pcm_de != heard[0][1]
        only_text = await _next(text_only)
        assert only_text["type"] == "final"  # no speech for a listener without sound
    # One synthesis per sentence and language, however many listeners.
    assert sorted(synthesizer.calls) == sorted(
        [(f"{lang} {' '.join(f'w{n}' for n in s)}", lang)
         for s in ([11, 12, 13], [21, 22], [31, 32, 33, 34]) for lang in ("it", "de")]
    )  # fmt: skip
    print(
        f"\nfinal -> first audio byte at the listener (espeak-ng, {len(delays)} samples): "
        f"median {statistics.median(delays) * 1000:.1f} ms, max {max(delays) * 1000:.1f} ms"
    )
    async with aiohttp.ClientSession() as http, http.get(f"{live.http}/metrics") as r:
        metrics = await r.text()
    assert 'edge_room_listeners_with_speech{lang="it",room="main"} 3.0' in metrics
    assert 'edge_room_caption_latency_seconds{quantile="0.5",room="main"}' in metrics
    async with aiohttp.ClientSession() as http, http.get(f"{live.http}/api/status") as r:
        speech = (await r.json())["rooms"]["main"]["speech_health"]
    assert speech["sentences"] == 6  # 3 sentences x 2 languages
    assert speech["first_audio_p50_s"] is not None
    await audio_ws.close()
    for ws in (*italian, german, text_only):
        await ws.close()


async def test_listener_choices_and_refusals(live_server: LiveServers) -> None:
    live = await _live(live_server, EspeakSynthesizer())
    async with connect(f"{live.ws}/ws/captions/main", open_timeout=10) as ws:
        status = await recv_json(ws)
        assert status["speech"] is True
        assert status["synthesizer"] == "espeak"
        await ws.send(json.dumps({"type": "listen", "lang": "fr", "audio": True}))
        error = await recv_json(ws)
        assert error["code"] == "unknown_language"
        assert "en-US, it, de" in error["message"]
        await ws.send(json.dumps({"type": "listen", "lang": "en-US", "audio": True}))
        own = await recv_json(ws)
        assert own["audio"] is False
        assert "the room itself speaks en-US" in own["reason"]
        await ws.send(json.dumps({"type": "listen", "lang": 5}))
        assert (await recv_json(ws))["code"] == "invalid_parameter"
        await ws.send("not json")
        assert (await recv_json(ws))["code"] == "bad_message"
        await ws.send(json.dumps({"type": "ping"}))
        assert (await recv_json(ws))["type"] == "pong"  # still open and answering
    # The choice can also come with the URL.
    async with connect(f"{live.ws}/ws/captions/main?lang=it&audio=1", open_timeout=10) as ws:
        assert (await recv_json(ws))["type"] == "status"
        assert (await recv_json(ws))["audio"] is True


async def test_room_without_speech_engine_offers_text_only(live_server: LiveServers) -> None:
    live = await _live(live_server, None)
    async with connect(f"{live.ws}/ws/captions/main?lang=it&audio=1", open_timeout=10) as ws:
        status = await recv_json(ws)
        assert status["speech"] is False
        listening = await recv_json(ws)
        assert listening["audio"] is False
        assert listening["reason"] == "this room has no speech engine: text only"


class EndlessSynthesizer:
    """Speaks for a long time (to fill a listener that never reads)."""

    name = "endless"

    async def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]:
        for _ in range(400):  # 100 s of audio, as fast as possible
            yield b"\x01\x00" * 8000
            await asyncio.sleep(0)

    async def close(self) -> None:
        pass

    def voice(self, language: str) -> SpeakingVoice:
        return SpeakingVoice(self.name)

    def health(self) -> SynthesizerHealth:
        return SPEAKING


async def test_listener_that_never_reads_speech_is_dropped(live_server: LiveServers) -> None:
    live = await _live(live_server, EndlessSynthesizer())
    stuck = await connect(f"{live.ws}/ws/captions/main?lang=it&audio=1", open_timeout=10,
                          max_queue=1)  # fmt: skip
    stuck.transport.pause_reading()  # never reads: the server's socket buffer fills up
    reader = await _listener(live, "de", audio=False)
    audio_ws, _ = await open_audio(live.ws, "main")
    started = time.monotonic()
    await _sentence(audio_ws, [5, 6])
    final = await _next(reader)
    assert final["type"] == "final"
    await _sentence(audio_ws, [7])
    assert (await _next(reader))["text"] == "w7"
    # The stuck listener is dropped as too slow (4 MiB queued), within a bounded time.
    for _ in range(200):
        if len(_subscribers(live)) == 1:
            break
        await asyncio.sleep(0.1)
    assert len(_subscribers(live)) == 1, "the stuck listener was not dropped"
    assert time.monotonic() - started < 30
    await audio_ws.close()
    await reader.close()
    stuck.transport.abort()


def _subscribers(live: LiveServer) -> dict[int, Any]:
    from edge_server.web.app_keys import ROOMS

    return live.app[ROOMS].get("main").broadcaster.subscribers


@pytest.mark.parametrize("room", [ROOM])
def test_room_settings_fixture_is_valid(room: RoomSettings) -> None:
    assert ServerSettings(default_room=room).room("x").targets == ("it", "de")


def test_polly_is_built_for_a_room_that_asks_for_it() -> None:
    from edge_server.engines.espeak.synthesizer import EspeakSynthesizer
    from edge_server.engines.factory import build_synthesizer
    from edge_server.engines.fallback.synthesizer import FallbackSynthesizer
    from edge_server.engines.polly.synthesizer import PollySynthesizer

    room = RoomSettings(
        synthesizer="polly",
        polly_engine="neural",
        voices={"it": "Bianca"},
        voice_fallback_grace_s=3.0,
    )
    synthesizer = build_synthesizer(room, ServerSettings(aws_region="eu-west-1"), "main")
    assert isinstance(synthesizer, FallbackSynthesizer)  # the local voice behind Polly
    assert isinstance(synthesizer.primary, PollySynthesizer)
    assert isinstance(synthesizer.fallback, EspeakSynthesizer)
    assert synthesizer.primary.options.voices == {"it": "Bianca"}
    assert synthesizer.state.policy.grace_s == 3.0
    assert synthesizer.name == "amazon-polly"
    assert build_synthesizer(RoomSettings(), ServerSettings()) is None

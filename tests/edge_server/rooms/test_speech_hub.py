"""Speech for listeners (edge_server.rooms.listener_speech) with a scripted synthesizer and no
socket: one synthesis per language shared by its listeners, text-only listeners untouched,
failures and unsupported languages reported per sentence, a language that falls behind."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from edge_server.core.engine_api import (
    SPEAKING,
    EngineError,
    SpeakingVoice,
    SynthesizerHealth,
    UnsupportedLanguage,
)
from edge_server.rooms.fanout import Broadcaster, Subscriber
from edge_server.rooms.listener_speech import MAX_PENDING, SpeechHub

pytestmark = pytest.mark.timeout(30)


class Voice:
    """Says each sentence as two chunks; Klingon is unsupported; it can be told to fail or to
    wait before speaking."""

    name = "scripted-voice"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail: EngineError | None = None
        self.gate = asyncio.Event()
        self.gate.set()
        self.closed = False

    async def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]:
        self.calls.append((text, language))
        await self.gate.wait()
        if language == "tlh":
            raise UnsupportedLanguage("no voice speaks tlh")
        if self.fail is not None:
            raise self.fail
        yield text.encode()[:4].ljust(4, b".")
        yield b"\x00\x00"

    async def close(self) -> None:
        self.closed = True

    def voice(self, language: str) -> SpeakingVoice:
        return SpeakingVoice(self.name, "scripted")

    def health(self) -> SynthesizerHealth:
        return SPEAKING


class Phone:
    """A listener: its language, whether its sound is on, and what it received."""

    def __init__(self, broadcaster: Broadcaster, lang: str | None, audio: bool) -> None:
        self.items: list[Any] = []
        self.subscriber = Subscriber(
            self.send, self.close, partials=False, queue_size=100, label="phone",
            send_bytes=self.send_bytes,
        )  # fmt: skip
        self.subscriber.lang, self.subscriber.audio = lang, audio
        broadcaster.add(self.subscriber)

    async def send(self, text: str) -> None:
        message = json.loads(text)
        self.items.append((message["type"], message.get("segment"), message.get("ok")))

    async def send_bytes(self, data: bytes) -> None:
        self.items.append(data)

    async def close(self, code: int, reason: str) -> None:
        raise AssertionError(f"dropped: {reason}")


def final(segment: int, **translations: str) -> dict[str, Any]:
    return {"type": "final", "segment": segment, "text": "source", "translations": translations}


async def until(condition: Any) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never met")


async def test_one_synthesis_per_language_shared_by_its_listeners() -> None:
    broadcaster, voice = Broadcaster(), Voice()
    hub = SpeechHub("main", voice, broadcaster)
    italians = [Phone(broadcaster, "it", True) for _ in range(3)]
    reader = Phone(broadcaster, "it", False)  # text only
    kiosk = Phone(broadcaster, None, False)
    german = Phone(broadcaster, "de", True)
    hub.on_final(final(1, it="ciao", de="hallo"))
    await until(lambda: len(italians[2].items) == 4 and len(german.items) == 4)
    for phone in italians:
        assert phone.items == [("speech", 1, None), b"ciao", b"\x00\x00", ("speech_end", 1, True)]
    assert german.items[1] == b"hall"
    assert reader.items == []
    assert kiosk.items == []
    assert sorted(voice.calls) == [("ciao", "it"), ("hallo", "de")]
    assert hub.sentences == 2
    assert hub.health()["first_audio_p50_s"] is not None
    await hub.close()
    assert voice.closed


async def test_a_language_without_a_translation_or_listeners_is_not_spoken() -> None:
    broadcaster, voice = Broadcaster(), Voice()
    hub = SpeechHub("main", voice, broadcaster)
    Phone(broadcaster, "fr", True)
    hub.on_final(final(1, it="ciao"))  # nobody listens to Italian; no French translation
    await asyncio.sleep(0.05)
    assert voice.calls == []
    await hub.close()


async def test_failures_end_the_sentence_with_an_error_and_the_next_one_is_spoken() -> None:
    broadcaster, voice = Broadcaster(), Voice()
    hub = SpeechHub("main", voice, broadcaster)
    phone = Phone(broadcaster, "it", True)
    voice.fail = EngineError("Polly throttled")
    hub.on_final(final(1, it="uno"))
    await until(lambda: ("speech_end", 1, False) in phone.items)
    voice.fail = None
    hub.on_final(final(2, it="due"))
    await until(lambda: ("speech_end", 2, True) in phone.items)
    assert b"due." in phone.items
    await hub.close()


async def test_an_unsupported_language_is_remembered_and_reported() -> None:
    broadcaster, voice = Broadcaster(), Voice()
    hub = SpeechHub("main", voice, broadcaster)
    phone = Phone(broadcaster, "tlh", True)
    hub.on_final(final(1, tlh="Qapla'"))
    await until(lambda: ("speech_end", 1, False) in phone.items)
    hub.on_final(final(2, tlh="Qapla'"))
    await asyncio.sleep(0.05)
    assert len(voice.calls) == 1  # not asked again
    assert hub.health()["unsupported"] == {"tlh": "no voice speaks tlh"}
    await hub.close()


async def test_a_language_that_falls_behind_skips_its_oldest_sentences() -> None:
    broadcaster, voice = Broadcaster(), Voice()
    hub = SpeechHub("main", voice, broadcaster)
    phone = Phone(broadcaster, "it", True)
    voice.gate.clear()  # the first sentence hangs in the engine
    for segment in range(1, MAX_PENDING + 4):
        hub.on_final(final(segment, it=f"n{segment}"))
        await asyncio.sleep(0)
    voice.gate.set()
    last = MAX_PENDING + 3
    await until(lambda: ("speech_end", last, True) in phone.items)
    spoken = [item[1] for item in phone.items if isinstance(item, tuple) and item[0] == "speech"]
    assert spoken[0] == 1  # was already being spoken
    assert spoken[1:] == list(range(last - MAX_PENDING + 1, last + 1))  # the newest kept
    assert hub.dropped_sentences == last - 1 - MAX_PENDING
    await hub.close()

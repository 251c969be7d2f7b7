"""The glossary in the cloud engines, end to end: the real server, the real Transcribe SDK
against the streaming fake, real boto3 against the Transcribe control-plane fake (custom
vocabularies) and the Translate fake (custom terminology), all through the standard AWS_*
variables. Captioning starts at once without the vocabulary and switches to it at a pause; a
vocabulary or terminology that fails is reported and captions flow without it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect

from edge_server.core.settings import RoomSettings
from tests.edge_server.rooms.test_cloud_room import next_of, send_words
from tests.fakes.aws_env import isolate_aws
from tests.fakes.tls import make_ca
from tests.fakes.transcribe_control_fake import TranscribeControlFake
from tests.fakes.transcribe_fake import TranscribeFake
from tests.fakes.translate_fake import TranslateFake
from tests.helpers.live_server import LiveServer, make_settings, room_health
from tests.helpers.waiting import wait_for_async
from tests.helpers.wire import open_audio

pytestmark = pytest.mark.timeout(120)

GLOSSARY = """\
terms = ["PipeWire", "FOSDEM", "C++"]

[corrections]
"w1" = "PipeWire"
"""


@dataclass
class Cloud:
    server: LiveServer
    streaming: TranscribeFake
    control: TranscribeControlFake
    translate: TranslateFake


FIXED = RoomSettings(engine="transcribe", translator="amazon-translate", targets=("it",))


@pytest.fixture
async def cloud(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> AsyncIterator[Cloud]:
    room: RoomSettings = getattr(request, "param", FIXED)
    isolate_aws(monkeypatch, tmp_path)
    ca = make_ca(tmp_path)
    streaming = await TranscribeFake(ca).start()
    control = await TranscribeControlFake(pending_polls=3).start()
    translate = await TranslateFake(words={"it": {"PipeWire": "TuboFilo", "w2": "p2"}}).start()
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CA_BUNDLE", str(ca.ca_file))
    monkeypatch.setenv("AWS_ENDPOINT_URL_TRANSCRIBE_STREAMING", streaming.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_TRANSCRIBE", control.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_TRANSLATE", translate.url)
    glossary = tmp_path / "glossary.toml"
    glossary.write_text(GLOSSARY)
    settings = make_settings(tmp_path / "state", rooms={"main": room}, glossary=glossary)
    cloud = Cloud(LiveServer(settings), streaming, control, translate)
    yield cloud
    await cloud.server.stop()
    await translate.close()
    await control.close()
    await streaming.close()


async def speak_until(ws: ClientConnection, done: Any, timeout: float = 40.0) -> None:
    """Say "w1 w2" and pause, again and again, until ``done()``."""
    async with asyncio.timeout(timeout):
        while not done():
            await send_words(ws, [1, 2, 0, 0, 0, 0], pace=0.02)


async def healthz(server: LiveServer) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{server.http}/healthz") as r:
        body: dict[str, Any] = await r.json()
        return body


async def test_the_stream_starts_at_once_and_switches_to_the_vocabulary_at_a_pause(
    cloud: Cloud,
) -> None:
    await cloud.server.start()
    async with connect(f"{cloud.server.ws}/ws/captions/main?backlog=0&partials=0") as sub:
        ws, ready = await open_audio(cloud.server.ws, "main")
        assert ready["type"] == "ready", ready
        await send_words(ws, [1, 2, 0, 0, 0, 0], pace=0.02)
        first = await next_of(sub, "final")
        # Captions began before the vocabulary was READY: the first stream has none.
        assert cloud.streaming.streams[0].vocabulary_name is None
        assert first["text"] == "PipeWire w2"
        assert first["heard"] == "w1 w2"

        await speak_until(ws, lambda: len(cloud.streaming.streams) >= 2)
        await send_words(ws, [1, 2, 0, 0, 0, 0], pace=0.02)
        last = await next_of(sub, "final")
        await ws.close()

    names = [n for n in cloud.control.vocabularies]
    assert len(names) == 1
    assert names[0].startswith("edge-main-en-US-")
    created = [body for op, body in cloud.control.calls if op == "CreateVocabulary"]
    assert created == [
        {"VocabularyName": names[0], "LanguageCode": "en-US", "Phrases": ["PipeWire", "FOSDEM"]}
    ]
    second = cloud.streaming.streams[1]
    assert second.vocabulary_name == names[0]
    assert [e.text for e in second.emitted if not e.is_partial][:1] == ["w1 w2"]
    # Corrections on the Transcribe fake's finals; the name untranslated through the terminology.
    assert last["text"] == "PipeWire w2"
    assert last["heard"] == "w1 w2"
    assert last["translations"] == {"it": "[it] PipeWire p2"}
    imported = [body for op, body in cloud.translate.terminology_calls if op == "ImportTerminology"]
    assert len(imported) == 1
    assert imported[0]["Name"] == "edge-main"
    assert imported[0]["MergeStrategy"] == "OVERWRITE"
    assert imported[0]["TerminologyData"]["Directionality"] == "MULTI"
    assert cloud.translate.terminologies["edge-main"].csv_text == (
        "en,it\nPipeWire,PipeWire\nFOSDEM,FOSDEM\nC++,C++\n"
    )
    assert cloud.translate.calls[-1].body["TerminologyNames"] == ["edge-main"]

    room = await room_health(cloud.server)
    vocabulary = room["cloud_glossary"]["recognizer"]["languages"]["en-US"]
    assert vocabulary["state"] == "ready"
    assert vocabulary["name"] == names[0]
    assert vocabulary["dropped"] == [
        {"phrase": "C++", "reason": "'+' is not in Transcribe's en-US character set"}
    ]
    assert room["cloud_glossary"]["translator"]["state"] == "ready"
    assert (await healthz(cloud.server))["status"] == "ok"


async def test_a_failed_vocabulary_and_a_refused_terminology_leave_captions_flowing(
    cloud: Cloud,
) -> None:
    cloud.control.fail_reason = "The vocabulary has an invalid phrase: PipeWire"
    cloud.translate.refuse_terminology = (400, "AccessDeniedException", "no translate:Import")
    await cloud.server.start()

    async def settled() -> bool:
        view = (await room_health(cloud.server))["cloud_glossary"]["recognizer"]
        return bool(view["languages"]["en-US"]["state"] != "pending")

    await wait_for_async(settled, 30, "the vocabulary to fail")
    async with connect(f"{cloud.server.ws}/ws/captions/main?backlog=0&partials=0") as sub:
        ws, ready = await open_audio(cloud.server.ws, "main")
        assert ready["type"] == "ready", ready
        await send_words(ws, [1, 2, 0, 0, 0, 0], pace=0.02)
        final = await next_of(sub, "final")
        await ws.close()
    assert final["text"] == "PipeWire w2"  # the glossary's corrections still apply
    assert final["translations"] == {"it": "[it] TuboFilo p2"}  # translated, without terms
    assert [s.vocabulary_name for s in cloud.streaming.streams] == [None]
    assert "TerminologyNames" not in cloud.translate.calls[-1].body

    health = await healthz(cloud.server)
    assert health["status"] == "degraded"
    view = health["rooms"]["main"]["cloud_glossary"]
    vocabulary = view["recognizer"]["languages"]["en-US"]
    assert vocabulary["state"] == "failed"
    assert "invalid phrase: PipeWire" in vocabulary["reason"]
    assert view["translator"]["state"] == "failed"
    assert "AccessDeniedException" in view["translator"]["reason"]
    assert any("custom vocabulary (en-US) failed" in a for a in health["alarms"])
    assert any("custom terminology failed" in a for a in health["alarms"])


IDENTIFYING = RoomSettings(
    engine="transcribe",
    source_lang="it-IT",
    languages=("it-IT", "en-US"),
    translator="amazon-translate",
    targets=("de",),
)


@pytest.mark.parametrize("cloud", [IDENTIFYING], indirect=True)
async def test_a_room_that_identifies_the_language_has_a_vocabulary_per_language(
    cloud: Cloud,
) -> None:
    await cloud.server.start()

    async def all_ready() -> bool:
        view = (await room_health(cloud.server))["cloud_glossary"]["recognizer"]["languages"]
        return {k: v["state"] for k, v in view.items()} == {"en-US": "ready", "it-IT": "ready"}

    await wait_for_async(all_ready, 40, "both vocabularies")
    async with connect(f"{cloud.server.ws}/ws/captions/main?backlog=0&partials=0") as sub:
        ws, ready = await open_audio(cloud.server.ws, "main")
        assert ready["type"] == "ready", ready
        await send_words(ws, [1, 2, 0, 0, 0, 0], pace=0.02)
        final = await next_of(sub, "final")
        await ws.close()
    assert final["text"] == "PipeWire w2"
    created = {b["LanguageCode"]: b for op, b in cloud.control.calls if op == "CreateVocabulary"}
    assert created["it-IT"]["Phrases"] == ["PipeWire", "FOSDEM"]
    assert created["en-US"]["Phrases"] == ["PipeWire", "FOSDEM"]
    opened = cloud.streaming.streams[0]
    assert opened.vocabulary_name is None
    assert sorted(opened.vocabulary_names) == sorted(b["VocabularyName"] for b in created.values())
    languages = cloud.translate.terminologies["edge-main"].languages
    assert languages == ["it", "en", "de"]

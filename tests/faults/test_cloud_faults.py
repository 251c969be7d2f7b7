"""The cloud recognizer misbehaving, end to end: the real server, the real Amazon Transcribe SDK
against the local HTTP/2 fake (tests/fakes), a subscriber, and an audio source saying numbered
words. The fake drops the connection mid-talk, answers slowly, or throttles
(``LimitExceededException``, HTTP 429: what Transcribe streaming answers over a rate or
concurrent-stream quota), at the start of a stream or in the middle of one.

The embedded engine behind the cloud here is one that hears the fake's word encoding (the
fake's own model), so that every word can be followed across engine switches: the assertion
in every case is that each word said is finalized exactly once, in order, and stored.
(tests/edge_server/rooms/test_cloud_room.py shows the same fallback with pocketsphinx and real
speech.)
"""

from __future__ import annotations

import asyncio
import json
import statistics
import struct
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from edge_server.contract.backoff import BackoffPolicy
from edge_server.core.engine_api import HEALTHY, Hypothesis, RecognizerHealth
from edge_server.core.settings import RoomSettings, ServerSettings
from edge_server.engines.factory import transcribe_recognizer
from edge_server.engines.fallback.policy import FallbackPolicy
from edge_server.engines.fallback.recognizer import FallbackRecognizer
from edge_server.rooms.status_views import health
from edge_server.web.app_keys import ROOMS
from tests.fakes.aws_env import isolate_aws
from tests.fakes.tls import make_ca
from tests.fakes.transcribe_fake import StreamScript, TranscribeFake
from tests.fakes.transcribe_model import FakeSpeechModel, ModelConfig
from tests.faults.helpers import read_transcript, wait_until, words_in
from tests.helpers.live_server import LiveServer, make_settings
from tests.helpers.wire import open_audio, recv_json

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]
THROTTLED = StreamScript(
    reject_status=429, reject_type="LimitExceededException", reject_message="too many streams"
)


class FakeModelStream:
    """An offline stream that hears what the Transcribe fake hears (same model, no network)."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.model = FakeSpeechModel(ModelConfig(language=language), result_prefix="offline")
        self.queue: asyncio.Queue[Hypothesis | None] = asyncio.Queue()

    def _put(self, result: dict[str, Any]) -> None:
        text = result["Alternatives"][0]["Transcript"]
        self.queue.put_nowait(
            Hypothesis(
                text, not result["IsPartial"], result["StartTime"], result["EndTime"], self.language
            )
        )

    async def send_audio(self, pcm: bytes) -> None:
        for result in self.model.feed(pcm):
            self._put(result)
        await asyncio.sleep(0)

    async def finish(self) -> None:
        for result in self.model.finish():
            self._put(result)
        self.queue.put_nowait(None)

    async def results(self) -> AsyncIterator[Hypothesis]:
        while (item := await self.queue.get()) is not None:
            yield item


class FakeModelRecognizer:
    """The embedded engine of these tests."""

    name = "embedded"

    def supported_languages(self) -> frozenset[str] | None:
        return None

    async def open_stream(self, language: str) -> FakeModelStream:
        return FakeModelStream(language)

    def health(self) -> RecognizerHealth:
        return HEALTHY

    async def close(self) -> None:
        pass


FAST = FallbackPolicy(
    grace_s=1.0,
    retry=BackoffPolicy(0.2, 2.0, 0.5, jitter=0.0),
    probe=BackoffPolicy(0.5, 1.0, 0.5, jitter=0.0),
)
PATIENT = FallbackPolicy(grace_s=20.0, retry=BackoffPolicy(0.2, 2.0, 0.5, jitter=0.0))


def frame(value: int) -> bytes:
    """100 ms the fake hears as word ``w<value>`` (0: silence)."""
    if value == 0:
        return b"\0\0" * 1600
    return struct.pack("<h", value) + struct.pack("<h", 8000) * 1599


class Cloud:
    """The server, the fake and a subscriber of one test."""

    def __init__(self, server: LiveServer, fake: TranscribeFake, sub: ClientConnection) -> None:
        self.server = server
        self.fake = fake
        self.sub = sub
        self.messages: list[tuple[float, dict[str, Any]]] = []
        self.ready_s: list[float] = []
        """How long each audio connection waited for ``ready``."""
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            self.messages.append((time.monotonic(), await recv_json(self.sub, 120)))

    def finals(self) -> list[tuple[float, dict[str, Any]]]:
        return [(t, m) for t, m in self.messages if m["type"] == "final"]

    def stored(self) -> list[dict[str, Any]]:
        path = self.server.settings.state_dir / "rooms" / "main" / "transcript.jsonl"
        return read_transcript(path)


@pytest.fixture
async def cloud(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Cloud]:
    policy: FallbackPolicy = getattr(request, "param", FAST)
    isolate_aws(monkeypatch, tmp_path)
    ca = make_ca(tmp_path)
    fake = await TranscribeFake(ca).start()
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CA_BUNDLE", str(ca.ca_file))
    monkeypatch.setenv("AWS_ENDPOINT_URL_TRANSCRIBE_STREAMING", fake.url)

    def recognizer(name: str, room: RoomSettings, server: ServerSettings) -> FallbackRecognizer:
        return FallbackRecognizer(
            transcribe_recognizer(name, room, server),
            FakeModelRecognizer(),
            policy,
            label=f"room {name}",
        )

    settings = make_settings(tmp_path / "state", default_room=RoomSettings(engine="transcribe"))
    server = await LiveServer(settings, recognizer).start()
    sub = await connect(f"{server.ws}/ws/captions/main?backlog=0&partials=0")
    state = Cloud(server, fake, sub)
    try:
        yield state
    finally:
        state._reader.cancel()
        await asyncio.gather(state._reader, return_exceptions=True)
        await sub.close()
        await server.stop()
        await fake.close()


async def say(
    cloud: Cloud, sentences: int, during: dict[int, Any] | None = None, pace: float = 0.02
) -> tuple[list[int], dict[int, float]]:
    """A source says ``sentences`` sentences of 4 numbered words (then ends the stream);
    ``during[i]`` runs before sentence ``i``. The words said, and when each sentence ended."""
    opening = time.monotonic()
    ws, ready = await open_audio(cloud.server.ws, "main")
    assert ready["type"] == "ready", ready
    cloud.ready_s.append(time.monotonic() - opening)
    said: list[int] = []
    sent_at: dict[int, float] = {}
    for s in range(sentences):
        action = (during or {}).get(s)
        if action is not None:
            action()
        words = [s * 4 + i + 1 for i in range(4)]
        for value in [*words, 0, 0, 0]:
            await ws.send(frame(value))
            await asyncio.sleep(pace)
        said += words
        sent_at[words[0]] = time.monotonic()
    await ws.send(json.dumps({"type": "end"}))
    while (await recv_json(ws, 90))["type"] != "ended":
        pass
    await ws.close()
    return said, sent_at


async def settle(cloud: Cloud, said: list[int]) -> None:
    """Wait until the subscriber saw a final with the last word."""
    await wait_until(
        lambda: said[-1] in words_in([m for _, m in cloud.finals()]), 30, "the last final"
    )


def assert_exact(cloud: Cloud, said: list[int]) -> None:
    stored = cloud.stored()
    assert words_in(stored) == said, "a word was lost, repeated or reordered"
    seen = [m for _, m in cloud.finals()]
    assert [(m["segment"], m["text"]) for m in seen] == [(r["segment"], r["text"]) for r in stored]


@pytest.mark.parametrize("cloud", [PATIENT], indirect=True)
async def test_cloud_drops_the_stream_mid_talk(
    cloud: Cloud, capsys: pytest.CaptureFixture[str]
) -> None:
    cloud.fake.scripts = [StreamScript(drop_after_s=1.7)]  # mid-sentence: 3 words into the 3rd
    said, _ = await say(cloud, 8)
    await settle(cloud, said)
    assert_exact(cloud, said)
    engines = {m["engine"] for _, m in cloud.finals()}
    assert engines == {"transcribe"}, "an outage within the grace period stays on the cloud"
    assert len(cloud.fake.streams) >= 2, "the dropped stream was reopened"
    with capsys.disabled():
        print(
            f"\ncloud drop mid-talk: {len(said)} words exact, engines {sorted(engines)}, "
            f"{len(cloud.fake.streams)} Transcribe streams"
        )


@pytest.mark.parametrize("cloud", [PATIENT], indirect=True)
async def test_cloud_answers_slowly(cloud: Cloud, capsys: pytest.CaptureFixture[str]) -> None:
    cloud.fake.scripts = [StreamScript(answer_delay_s=2.0, event_delay_s=1.0)]
    said, sent_at = await say(cloud, 6)
    await settle(cloud, said)
    assert_exact(cloud, said)
    delays = []
    for at, final in cloud.finals():
        first = words_in([final])[0]
        if first in sent_at:
            delays.append(at - sent_at[first])
    assert {m["engine"] for _, m in cloud.finals()} == {"transcribe"}, "slow is not down"
    with capsys.disabled():
        print(
            f"\ncloud slow (2 s to answer, events 1 s late): {len(said)} words exact; the "
            f"source waited {cloud.ready_s[0]:.1f} s for ready; final after its sentence p50 "
            f"{statistics.median(delays):.1f} s, max {max(delays):.1f} s"
        )
    assert cloud.ready_s[0] >= 1.5, "ready waits for the cloud stream to open"


async def test_cloud_throttles_new_streams_then_recovers(
    cloud: Cloud, capsys: pytest.CaptureFixture[str]
) -> None:
    cloud.fake.scripts = [THROTTLED] * 10000
    offline_seen: list[bool] = []

    def lift() -> None:
        offline_seen.append(any(m.get("offline") for _, m in cloud.messages))
        cloud.fake.scripts.clear()

    said, _ = await say(cloud, 16, during={10: lift}, pace=0.05)  # lifted after about 3.5 s
    await settle(cloud, said)
    assert_exact(cloud, said)
    engines = [m["engine"] for _, m in cloud.finals()]
    assert engines[0] == "embedded", engines
    assert engines[-1] == "transcribe", engines
    assert offline_seen == [True], "screens were told the room is on offline captions"
    statuses = [m for _, m in cloud.messages if m["type"] == "status"]
    assert statuses[-1]["offline"] is False
    switches = health(cloud.server.app[ROOMS].get("main"))["engine_switches"]
    assert [s["to"] for s in switches] == ["embedded", "transcribe"], switches
    assert "throttled" in switches[0]["reason"] or "LimitExceeded" in switches[0]["reason"]
    with capsys.disabled():
        print(
            f"\ncloud throttled (429 LimitExceededException) then lifted: {len(said)} words "
            f"exact; finals by engine {[(e, engines.count(e)) for e in dict.fromkeys(engines)]}"
        )


@pytest.mark.parametrize("cloud", [PATIENT], indirect=True)
async def test_cloud_throttles_mid_stream(cloud: Cloud, capsys: pytest.CaptureFixture[str]) -> None:
    mid = StreamScript(
        exception_after_s=1.2,
        exception_type="LimitExceededException",
        exception_message="rate exceeded",
    )
    cloud.fake.scripts = [mid, THROTTLED, THROTTLED, THROTTLED]
    said, _ = await say(cloud, 16, pace=0.05)
    await settle(cloud, said)
    assert_exact(cloud, said)
    engines = [m["engine"] for _, m in cloud.finals()]
    with capsys.disabled():
        print(f"\ncloud throttled mid-stream: {len(said)} words exact; engines {engines}")
    # Retried within the grace period: no switch (words that were waiting when a talk ends
    # during the retries would be finalized on the embedded engine, by design).
    assert set(engines) == {"transcribe"}, engines
    assert health(cloud.server.app[ROOMS].get("main"))["engine_switches"] == []
    assert len(cloud.fake.streams) == 5  # the throttled stream, three refusals, the retry

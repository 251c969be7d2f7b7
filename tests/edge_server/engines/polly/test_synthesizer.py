"""The Polly adapter: voice choice (pure), DescribeVoices and classic SynthesizeSpeech through
moto, and the bidirectional streaming path at its seam with amazon-polly-streaming."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from edge_server.core.engine_api import UnsupportedLanguage
from edge_server.engines.aws.errors import (
    CredentialsError,
    ServiceUnavailableError,
    ThrottlingError,
)
from edge_server.engines.aws.target import AwsTarget
from edge_server.engines.polly.errors import classify
from edge_server.engines.polly.options import PollyOptions, streaming_path
from edge_server.engines.polly.synthesizer import PollySynthesizer
from edge_server.engines.polly.voices import Voice, VoiceChoice, polly_codes, select_voice
from tests.fakes.aws_env import isolate_aws

T = 10.0

VOICES = [
    Voice("Matthew", "en-US", (), frozenset({"generative", "neural", "standard"})),
    Voice("Ruth", "en-US", (), frozenset({"generative", "neural"})),
    Voice("Amy", "en-GB", (), frozenset({"generative", "neural"})),
    Voice("Adriano", "it-IT", (), frozenset({"neural"})),
    Voice("Bianca", "it-IT", (), frozenset({"neural", "standard"})),
    Voice("Giorgio", "it-IT", (), frozenset({"standard"})),
    Voice("Hala", "ar-AE", ("arb",), frozenset({"neural"})),
    Voice("Zeina", "arb", (), frozenset({"standard"})),
    Voice("Kajal", "en-IN", ("hi-IN",), frozenset({"neural"})),
    Voice("Zhiyu", "cmn-CN", (), frozenset({"neural"})),
]


@pytest.mark.parametrize(
    ("language", "engines", "preferred", "expected"),
    [
        ("en", ("generative",), {}, VoiceChoice("Matthew", "generative", "en-US")),
        ("en-GB", ("generative",), {}, VoiceChoice("Amy", "generative", "en-GB")),
        ("en", ("generative",), {"en": "Ruth"}, VoiceChoice("Ruth", "generative", "en-US")),
        ("en", ("generative",), {"en-US": "ruth"}, VoiceChoice("Ruth", "generative", "en-US")),
        ("it", ("generative", "neural"), {}, VoiceChoice("Adriano", "neural", "it-IT")),
        (
            "it",
            ("generative", "neural"),
            {"it": "Bianca"},
            VoiceChoice("Bianca", "neural", "it-IT"),
        ),
        # A preferred voice that lacks the engine is not used.
        ("it", ("neural",), {"it": "Giorgio"}, VoiceChoice("Adriano", "neural", "it-IT")),
        ("it-IT", ("standard",), {}, VoiceChoice("Bianca", "standard", "it-IT")),
        ("ar", ("neural",), {}, VoiceChoice("Hala", "neural", "arb")),
        ("ar", ("standard",), {}, VoiceChoice("Zeina", "standard", "arb")),
        ("hi-IN", ("neural",), {}, VoiceChoice("Kajal", "neural", "hi-IN")),
        ("zh", ("neural",), {}, VoiceChoice("Zhiyu", "neural", "cmn-CN")),
        ("de", ("generative", "neural"), {}, None),
    ],
)
def test_voice_choice(language, engines, preferred, expected):
    assert select_voice(VOICES, language, engines, preferred) == expected


def test_polly_codes():
    assert polly_codes("en") == ["en-US", "en-GB"]
    assert polly_codes("it") == ["it-IT"]
    assert polly_codes("pt_br") == ["pt-BR"]
    assert polly_codes("zh-CN") == ["cmn-CN"]


@pytest.mark.parametrize(
    ("option", "library", "engine", "target", "expected"),
    [
        (None, True, "generative", AwsTarget("us-east-1", None, None), True),
        (None, False, "generative", AwsTarget("us-east-1", None, None), False),
        (None, True, "neural", AwsTarget("us-east-1", None, None), False),
        (None, True, "generative", AwsTarget("us-east-1", "https://vpce", None), False),
        (None, True, "generative", AwsTarget("us-east-1", None, "/etc/proxy-ca.pem"), False),
        (False, True, "generative", AwsTarget("us-east-1", None, None), False),
    ],
)
def test_streaming_path_choice(option, library, engine, target, expected):
    chosen, reason = streaming_path(option, library=library, engine=engine, target=target)
    assert chosen is expected
    assert reason


class ThrottlingException(Exception):  # the streaming library's class names carry the kind
    pass


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (ThrottlingException("slow down"), ThrottlingError),
        (
            RuntimeError('Streaming request failed with status 403: {"message": "bad"}'),
            CredentialsError,
        ),
        (RuntimeError("Streaming request failed with status 503: "), ServiceUnavailableError),
        (RuntimeError("Could not resolve AWS credentials for event signing"), CredentialsError),
        (ConnectionResetError("gone"), ServiceUnavailableError),
    ],
)
def test_streaming_errors_are_classified(error, kind):
    assert type(classify(error)) is kind


# --- DescribeVoices and classic SynthesizeSpeech through moto ---------------------------------


@pytest.fixture
def moto_polly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    isolate_aws(monkeypatch, tmp_path)
    with mock_aws():
        yield


async def test_voices_discovered_once_filtered_and_preferred(moto_polly, caplog):
    options = PollyOptions(
        region="us-east-1", engine="neural", voices={"it": "Bianca", "de": "Hans"}
    )
    synth = PollySynthesizer(options)
    await asyncio.wait_for(synth.start(), T)
    await asyncio.wait_for(synth.start(), T)  # once: a second start does nothing
    assert synth.voice_for("it") == VoiceChoice("Bianca", "neural", "it-IT")
    # Hans (standard only) does not fit the neural engine: a default de-DE neural voice.
    assert synth.voice_for("de") == VoiceChoice("Daniel", "neural", "de-DE")
    assert "Polly voice Hans does not fit de" in caplog.text
    assert synth.voice_for("en").voice_id in {"Danielle", "Gregory", "Ivy", "Joanna"}
    with pytest.raises(UnsupportedLanguage):
        synth.voice_for("tlh")
    await synth.close()


async def test_classic_synthesis_streams_pcm_and_records_first_audio(moto_polly):
    synth = PollySynthesizer(PollyOptions(region="us-east-1", engine="neural"))
    assert not synth.streaming
    chunks = [c async for c in synth.synthesize("Buongiorno a tutti", "it")]
    assert b"".join(chunks) == b"\0" * 8  # what moto answers
    timing = synth.timings[-1]
    assert (timing.path, timing.voice_id, timing.ok, timing.characters) == (
        "classic",
        "Adriano",
        True,
        len("Buongiorno a tutti"),
    )
    assert timing.first_audio_s is not None
    assert 0 <= timing.first_audio_s <= timing.total_s
    assert synth.first_audio_s() == [timing.first_audio_s]
    await synth.close()


async def test_an_unconfigured_synthesizer_says_why(monkeypatch, tmp_path):
    isolate_aws(monkeypatch, tmp_path)
    synth = PollySynthesizer(PollyOptions())
    with pytest.raises(Exception, match="no AWS region"):
        await asyncio.wait_for(synth.start(), T)
    await synth.close()


# --- the bidirectional path at its seam -------------------------------------------------------


class FakeStreamingClient:
    """Stands in for PollyStreamingClient: records calls, yields odd-sized chunks."""

    def __init__(self, chunks: list[bytes], delay: float = 0.05, error: Exception | None = None):
        self.chunks = chunks
        self.delay = delay
        self.error = error
        self.calls: list[dict[str, Any]] = []
        self.active = 0
        self.most_active = 0

    async def start_speech_synthesis_stream(self, **kwargs: Any) -> AsyncIterator[bytes]:
        self.calls.append(kwargs)
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            for chunk in self.chunks:
                await asyncio.sleep(self.delay)
                if self.error is not None:
                    raise self.error
                yield chunk
        finally:
            self.active -= 1


async def test_streaming_path_at_the_seam(moto_polly):
    client = FakeStreamingClient([b"\1\2\3", b"\4\5\6\7\10", b"\11\12\13\14"])
    options = PollyOptions(region="us-east-1", engine="generative", voices={"en": "Ruth"})
    synth = PollySynthesizer(options, streaming_client=client)
    assert synth.streaming

    async def say(language: str) -> list[bytes]:
        return [c async for c in synth.synthesize("Welcome", language)]

    english, _british = await asyncio.wait_for(asyncio.gather(say("en"), say("en-GB")), T)
    await synth.close()

    assert all(len(c) % 2 == 0 for c in english)  # whole samples only
    assert b"".join(english) == bytes(range(1, 13))
    assert client.most_active == 2  # two languages synthesized at the same time
    assert client.calls[0] == {
        "text": "Welcome",
        "voice_id": "Ruth",
        "engine": "generative",
        "language_code": "en-US",
        "output_format": "pcm",
        "sample_rate": "16000",
    }
    assert client.calls[1]["voice_id"] == "Amy"
    timings = list(synth.timings)
    assert {t.path for t in timings} == {"streaming"}
    assert all(t.first_audio_s is not None and t.first_audio_s >= 0.04 for t in timings)


async def test_streaming_errors_surface_classified(moto_polly):
    client = FakeStreamingClient([b"\0\0"], error=ThrottlingException("Rate exceeded"))
    synth = PollySynthesizer(PollyOptions(region="us-east-1"), streaming_client=client)
    with pytest.raises(ThrottlingError, match="Rate exceeded") as caught:
        await asyncio.wait_for(_drain(synth.synthesize("Hi", "en")), T)
    assert caught.value.retryable
    assert synth.timings[-1].ok is False
    assert synth.timings[-1].first_audio_s is None
    await synth.close()


async def _drain(chunks: AsyncIterator[bytes]) -> None:
    async for _ in chunks:
        pass


@pytest.mark.skipif(
    sys.version_info < (3, 13), reason="amazon-polly-streaming is published for Python >= 3.13 only"
)
async def test_the_real_streaming_library_at_its_http2_seam(moto_polly, monkeypatch):
    """The library's own event writing, signing and decoding run; only its HTTP/2 stream is
    replaced (it always dials polly.<region>.amazonaws.com)."""
    import amazon_polly_streaming.client as library
    from amazon_polly_streaming import PollyStreamingClient
    from amazon_polly_streaming._eventstream import EventStreamParser, encode_message
    from amazon_polly_streaming._http2 import StreamHandle

    seen: dict[str, Any] = {}

    @asynccontextmanager
    async def no_connection(*args: Any, **kwargs: Any) -> AsyncIterator[object]:
        yield object()

    async def fake_open_stream(**kwargs: Any) -> StreamHandle:
        from amazon_polly_streaming._buffered_stream import BufferableByteStream

        seen.update(kwargs)
        body = BufferableByteStream()

        async def answer() -> AsyncIterator[bytes]:
            sent = b""
            while (data := _read_all(body)) is not None:
                sent += data
            seen["text_events"] = [
                json.loads(inner.payload)
                for outer in EventStreamParser().feed(sent)
                if outer.payload
                for inner in EventStreamParser().feed(outer.payload)
                if inner.headers.get(":event-type") == "TextEvent"
            ]
            audio = {":message-type": "event", ":event-type": "AudioEvent"}
            for pcm in (b"\1\2\3", b"\4\5\6"):
                await asyncio.sleep(0.01)
                yield encode_message(audio, pcm)
            yield encode_message(
                {":message-type": "event", ":event-type": "StreamClosedEvent"}, b"{}"
            )

        return StreamHandle(initial_signature=b"\0" * 32, body=body, response_chunks=answer())

    monkeypatch.setattr(library, "_acquire_polly_connection", no_connection)
    monkeypatch.setattr(library, "open_stream", fake_open_stream)
    synth = PollySynthesizer(PollyOptions(region="us-east-1", voices={"en": "Ruth"}))
    assert synth.streaming
    assert isinstance(synth._streaming_client, PollyStreamingClient)
    chunks = [c async for c in synth.synthesize("Thank you", "en")]
    await synth.close()

    assert b"".join(chunks) == b"\1\2\3\4\5\6"
    assert seen["headers"]["x-amzn-VoiceId"] == "Ruth"
    assert seen["headers"]["x-amzn-OutputFormat"] == "pcm"
    assert seen["headers"]["x-amzn-SampleRate"] == "16000"
    assert seen["headers"]["x-amzn-Engine"] == "generative"
    assert seen["url"] == "https://polly.us-east-1.amazonaws.com/v1/synthesisStream"
    assert seen["text_events"] == [{"Text": "Thank you"}]
    assert synth.timings[-1].path == "streaming"


def _read_all(body: Any) -> bytes | None:
    try:
        data = body.read()
    except BlockingIOError:
        return b""
    return data or None


# --- what the voice fallback asks of Polly: a probe and the voice name --------------------------


async def test_probe_and_voice_against_the_polly_fake(monkeypatch, tmp_path):
    """Real boto3 against the switchable fake: the probe (DescribeVoices) fails while Polly is
    down, classified as retryable, and answers once it is back."""
    from edge_server.core.engine_api import SpeakingVoice
    from tests.fakes.polly_fake import PollyFake, polly_pcm

    isolate_aws(monkeypatch, tmp_path)
    fake = await PollyFake().start()
    try:
        options = PollyOptions(
            region="eu-west-1", engine="neural", endpoint_url=fake.url, timeout_s=5.0
        )
        synth = PollySynthesizer(options)
        assert synth.voice("it") == SpeakingVoice("amazon-polly", "")  # not discovered yet
        fake.fail()
        with pytest.raises(ServiceUnavailableError) as caught:
            await asyncio.wait_for(synth.probe(), T)
        assert caught.value.retryable
        fake.recover()
        await asyncio.wait_for(synth.probe(), T)  # discovers the voices
        assert synth.voice("it") == SpeakingVoice("amazon-polly", "Bianca")
        await asyncio.wait_for(synth.probe(), T)  # then a single DescribeVoices
        assert [kind for kind, _ in fake.calls] == ["DescribeVoices"] * 4  # botocore: 503 twice
        assert fake.calls[-1][1]["Engine"] == "neural"
        chunks = [c async for c in synth.synthesize("Buongiorno", "it")]
        assert b"".join(chunks) == polly_pcm("Bianca", "Buongiorno")
        await synth.close()
    finally:
        await fake.close()

"""The Transcribe recognizer driving the real amazon-transcribe client against the local
HTTP/2 + TLS fake: results, word stability, language identification, rotation, errors.

Audio frames are 100 ms; a "speech" frame's first sample is its global number plus one, so the
fake names each word after the audio that produced it (``w1`` is the first frame).
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from edge_server.core.engine_api import EngineError, Hypothesis
from edge_server.engines.aws.errors import (
    BadRequestError,
    CloudEngineError,
    CredentialsError,
    EndpointError,
    ServiceUnavailableError,
    ThrottlingError,
)
from edge_server.engines.transcribe.options import TranscribeOptions
from edge_server.engines.transcribe.recognizer import TranscribeRecognizer, TranscribeStream
from edge_server.engines.transcribe.rotation import RotationReason
from tests.fakes.aws_env import ACCESS_KEY, isolate_aws
from tests.fakes.tls import LocalCA, make_ca
from tests.fakes.transcribe_fake import StreamScript, TranscribeFake

T = 10.0  # the timeout of every await


def frame(value: int) -> bytes:
    """100 ms of audio: loud, first sample ``value``; silence when ``value`` is 0."""
    if value == 0:
        return b"\0\0" * 1600
    return struct.pack("<h", value) + struct.pack("<h", 8000) * 1599


def talk(pattern: str) -> list[int]:
    """Frame values for a pattern: ``s`` speech, ``.`` silence (speech numbered globally)."""
    return [index + 1 if mark == "s" else 0 for index, mark in enumerate(pattern)]


@pytest.fixture
def ca(tmp_path: Path) -> LocalCA:
    return make_ca(tmp_path)


@pytest.fixture
async def fake(
    ca: LocalCA, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[TranscribeFake]:
    isolate_aws(monkeypatch, tmp_path)
    server = await TranscribeFake(ca).start()
    yield server
    await server.close()


def recognizer(fake: TranscribeFake, **options: object) -> TranscribeRecognizer:
    defaults: dict[str, object] = {
        "region": "us-east-1",
        "endpoint_url": fake.url,
        "ca_bundle": str(fake.ca.ca_file),
        "open_timeout_s": 5.0,
    }
    return TranscribeRecognizer(TranscribeOptions(**(defaults | options)))  # type: ignore[arg-type]


async def run(stream: TranscribeStream, values: list[int], pace: float = 0.0) -> list[Hypothesis]:
    """Send the frames (then finish) while collecting every hypothesis."""
    results: list[Hypothesis] = []

    async def send() -> None:
        for value in values:
            await stream.send_audio(frame(value))
            await asyncio.sleep(pace)
        await stream.finish()

    async def collect() -> None:
        async for hyp in stream.results():
            results.append(hyp)

    await asyncio.wait_for(asyncio.gather(send(), collect()), T)
    return results


def finals(results: list[Hypothesis]) -> list[Hypothesis]:
    return [r for r in results if r.is_final]


async def test_partials_then_finals_with_stable_words(fake: TranscribeFake):
    engine = recognizer(fake, vocabulary_names=("conference",), vocabulary_filter_names=("rude",))
    stream = await asyncio.wait_for(engine.open_stream("en-US"), T)
    results = await run(stream, talk("sssss...ssss"))
    await engine.close()

    assert [r.text for r in finals(results)] == ["w1 w2 w3 w4 w5", "w9 w10 w11 w12"]
    partials = [r.text for r in results if not r.is_final]
    assert partials[:5] == ["w1", "w1 w2", "w1 w2 w3", "w1 w2 w3 w4", "w1 w2 w3 w4 w5"]
    third = next(r for r in results if r.text == "w1 w2 w3" and not r.is_final)
    assert [(w.text, w.stable) for w in third.words] == [
        ("w1", True),
        ("w2", False),
        ("w3", False),
    ]
    last = finals(results)[-1]
    assert all(w.stable for w in last.words)
    assert (last.start, last.end, last.language) == (0.8, 1.2, "en-US")
    assert [(w.text, w.start) for w in last.words][:2] == [("w9", 0.8), ("w10", 0.9)]

    request = fake.streams[0]
    assert request.header("x-amzn-transcribe-language-code") == "en-US"
    assert request.header("x-amzn-transcribe-sample-rate") == "16000"
    assert request.header("x-amzn-transcribe-media-encoding") == "pcm"
    assert request.header("x-amzn-transcribe-enable-partial-results-stabilization") == "True"
    assert request.header("x-amzn-transcribe-partial-results-stability") == "high"
    assert request.header("x-amzn-transcribe-vocabulary-name") == "conference"
    assert request.header("x-amzn-transcribe-vocabulary-filter-name") == "rude"
    assert request.header("x-amzn-transcribe-vocabulary-filter-method") == "mask"
    assert (request.access_key, request.signing_region) == (ACCESS_KEY, "us-east-1")
    assert request.client_ended
    assert request.audio_events == 12


async def test_identified_language_reaches_the_hypotheses(fake: TranscribeFake):
    fake.language_for = lambda value: "it-IT" if value >= 100 else "en-US"
    engine = recognizer(fake, languages=("en-US", "it-IT"), preferred_language="en-US")
    stream = await asyncio.wait_for(engine.open_stream("auto"), T)
    values = [1, 2, 3, 0, 101, 102, 0, 4, 0]
    results = await run(stream, values)
    await engine.close()

    assert [(r.text, r.language) for r in finals(results)] == [
        ("w1 w2 w3", "en-US"),
        ("w101 w102", "it-IT"),
        ("w4", "en-US"),
    ]
    assert {r.language for r in results if r.text.startswith("w101")} == {"it-IT"}
    request = fake.streams[0]
    assert request.header("x-amzn-transcribe-identify-language") == "True"
    assert request.header("x-amzn-transcribe-language-options") == "en-US,it-IT"
    assert request.header("x-amzn-transcribe-preferred-language") == "en-US"
    assert request.header("x-amzn-transcribe-language-code") is None


def _assert_exact_words(results: list[Hypothesis], values: list[int]) -> None:
    words = [w.text for r in finals(results) for w in r.words]
    assert words == [f"w{v}" for v in values if v]  # nothing lost, nothing doubled
    for final in finals(results):
        for word in final.words:
            # times continue across service streams: word N starts at (N - 1) * 0.1 s
            assert word.start == pytest.approx((int(word.text[1:]) - 1) * 0.1, abs=1e-6)


async def test_rotation_at_pauses_loses_and_doubles_nothing(fake: TranscribeFake):
    # The second service stream answers late: audio sent meanwhile must be buffered.
    fake.scripts = [StreamScript(), StreamScript(answer_delay_s=0.1)]
    # Pauses come every 0.8 s of audio; the forced deadline is kept far out of reach, since the
    # age is max(wall, audio) and a loaded CI machine can stall the loop for a while (the
    # forced case has its own test below).
    engine = recognizer(fake, rotate_after_s=1.0, rotate_max_wait_s=5.0)
    stream = await asyncio.wait_for(engine.open_stream("en-US"), T)
    values = talk("sssss..." * 8)
    results = await run(stream, values, pace=0.02)
    await engine.close()

    assert len(fake.streams) >= 3
    assert all(s.client_ended for s in fake.streams)
    assert sum(len(s.audio) for s in fake.streams) == len(values) * 3200
    assert set(stream.rotations) <= {RotationReason.AFTER_FINAL, RotationReason.SILENCE}
    _assert_exact_words(results, values)


async def test_rotation_without_pauses_is_forced_and_still_exact(fake: TranscribeFake):
    fake.max_words = 1000  # one endless utterance
    engine = recognizer(fake, rotate_after_s=1.0, rotate_max_wait_s=0.5)
    stream = await asyncio.wait_for(engine.open_stream("en-US"), T)
    values = talk("s" * 40)
    results = await run(stream, values, pace=0.005)
    await engine.close()

    assert stream.rotations
    assert set(stream.rotations) == {RotationReason.FORCED}
    assert len(fake.streams) == len(stream.rotations) + 1
    _assert_exact_words(results, values)


async def test_slow_answers_still_arrive_in_order(fake: TranscribeFake):
    fake.scripts = [StreamScript(event_delay_s=0.2)]
    engine = recognizer(fake)
    stream = await asyncio.wait_for(engine.open_stream("en-US"), T)
    results = await run(stream, talk("sss.ss"))
    await engine.close()
    assert [r.text for r in finals(results)] == ["w1 w2 w3", "w5 w6"]


async def test_finish_ends_results_and_refuses_more_audio(fake: TranscribeFake):
    engine = recognizer(fake)
    stream = await asyncio.wait_for(engine.open_stream("en-US"), T)
    await run(stream, talk("ss"))
    await asyncio.wait_for(stream.finish(), T)
    with pytest.raises(EngineError, match="finished"):
        await stream.send_audio(frame(1))
    await engine.close()


@pytest.mark.parametrize(
    ("status", "error_type", "kind", "retryable"),
    [
        (400, "BadRequestException", BadRequestError, False),
        (429, "LimitExceededException", ThrottlingError, True),
        (503, "ServiceUnavailableException", ServiceUnavailableError, True),
        (403, "UnrecognizedClientException", CredentialsError, False),
        (403, "ExpiredTokenException", CredentialsError, False),
    ],
)
async def test_refused_streams_are_classified(fake, status, error_type, kind, retryable):
    fake.scripts = [
        StreamScript(reject_status=status, reject_type=error_type, reject_message="why")
    ]
    engine = recognizer(fake)
    with pytest.raises(CloudEngineError) as caught:
        await asyncio.wait_for(engine.open_stream("en-US"), T)
    await engine.close()
    assert type(caught.value) is kind
    assert caught.value.retryable is retryable
    assert f"({error_type}: why)" in str(caught.value)
    assert str(caught.value).startswith("Amazon Transcribe: ")


async def test_throttling_mid_stream_is_surfaced_as_retryable(fake: TranscribeFake):
    fake.scripts = [StreamScript(exception_after_s=0.5, exception_message="too many streams")]
    engine = recognizer(fake)
    stream = await asyncio.wait_for(engine.open_stream("en-US"), T)
    results: list[Hypothesis] = []
    with pytest.raises(ThrottlingError, match="too many streams") as caught:
        await run_collecting(stream, talk("s" * 20), results)
    assert caught.value.retryable
    assert results
    assert results[0].text == "w1"
    with pytest.raises(ThrottlingError):
        await stream.send_audio(frame(99))
    await engine.close()


async def run_collecting(
    stream: TranscribeStream, values: list[int], into: list[Hypothesis]
) -> None:
    async def send() -> None:
        for value in values:
            try:
                await stream.send_audio(frame(value))
            except CloudEngineError:
                return
            await asyncio.sleep(0.01)

    sender = asyncio.create_task(send())
    try:
        async for hyp in stream.results():
            into.append(hyp)
    finally:
        await asyncio.wait_for(sender, T)


async def test_dropped_connection_is_retryable_and_the_next_stream_works(fake: TranscribeFake):
    fake.scripts = [StreamScript(drop_after_s=0.5)]
    engine = recognizer(fake)
    stream = await asyncio.wait_for(engine.open_stream("en-US"), T)
    results: list[Hypothesis] = []
    with pytest.raises(ServiceUnavailableError) as caught:
        await asyncio.wait_for(run_collecting(stream, talk("s" * 30), results), T)
    assert caught.value.retryable
    # What the room's retry does: a new stream on the same recognizer, on a new connection.
    again = await asyncio.wait_for(engine.open_stream("en-US"), T)
    assert [r.text for r in finals(await run(again, talk("ss.")))] == ["w1 w2"]
    await engine.close()


async def test_a_connection_that_stops_taking_audio_fails_the_stream(fake: TranscribeFake):
    fake.scripts = [StreamScript(stop_acking_after_s=0.2)]
    engine = recognizer(fake, stall_timeout_s=0.5)
    stream = await asyncio.wait_for(engine.open_stream("en-US"), T)

    async def send_until_failure() -> CloudEngineError:
        for value in range(1, 400):
            try:
                await stream.send_audio(frame(value))
            except CloudEngineError as exc:
                return exc
            await asyncio.sleep(0.005)
        raise AssertionError("the stall was not detected")

    error = await asyncio.wait_for(send_until_failure(), T)
    assert isinstance(error, ServiceUnavailableError)
    assert error.retryable
    assert "took no audio" in str(error)
    stream.close()
    await engine.close()


async def test_no_answer_is_a_retryable_timeout(fake: TranscribeFake):
    fake.scripts = [StreamScript(hang=True)]
    engine = recognizer(fake, open_timeout_s=0.5)
    with pytest.raises(ServiceUnavailableError, match="no answer") as caught:
        await asyncio.wait_for(engine.open_stream("en-US"), T)
    assert caught.value.retryable
    await engine.close()


async def test_an_untrusted_certificate_fails_instead_of_hanging(fake, tmp_path):
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    engine = recognizer(fake, ca_bundle=str(other), open_timeout_s=1.0)
    with pytest.raises(CloudEngineError) as caught:
        await asyncio.wait_for(engine.open_stream("en-US"), T)
    assert isinstance(caught.value, EndpointError | ServiceUnavailableError)
    await asyncio.wait_for(engine.close(), T)


async def test_missing_credentials_are_reported_clearly(fake, monkeypatch, tmp_path):
    isolate_aws(monkeypatch, tmp_path, credentials=False)
    engine = recognizer(fake)
    with pytest.raises(CredentialsError, match="no AWS credentials found") as caught:
        await asyncio.wait_for(engine.open_stream("en-US"), T)
    assert not caught.value.retryable
    assert "AWS_PROFILE" in str(caught.value)
    assert fake.streams == []  # refused before anything was sent
    await engine.close()


async def test_a_region_without_transcribe_streaming_is_not_retryable(fake):
    engine = recognizer(fake, region="eu-south-1", endpoint_url=None)
    with pytest.raises(EndpointError, match="not available in region eu-south-1") as caught:
        await asyncio.wait_for(engine.open_stream("en-US"), T)
    assert not caught.value.retryable
    nowhere = recognizer(fake, region=None, endpoint_url=None)
    with pytest.raises(EndpointError, match="no AWS region"):
        await asyncio.wait_for(nowhere.open_stream("en-US"), T)


async def test_standard_aws_variables_point_it_at_the_fake(fake, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_TRANSCRIBE_STREAMING", fake.url)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(fake.ca.ca_file))
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    engine = recognizer(fake, region=None, endpoint_url=None, ca_bundle=None)
    stream = await asyncio.wait_for(engine.open_stream("en-US"), T)
    assert [r.text for r in finals(await run(stream, talk("ss")))] == ["w1 w2"]
    assert fake.streams[0].signing_region == "eu-west-1"
    await engine.close()


async def test_no_busy_loop_while_streaming_in_real_time(fake: TranscribeFake):
    engine = recognizer(fake)
    stream = await asyncio.wait_for(engine.open_stream("en-US"), T)
    await run(stream, talk("sssss....."), pace=0.1)
    body = stream._all_legs[0].body
    # One second of real-time audio: the plain SDK's body is read hundreds of thousands of
    # times; this one a few times per frame and per event.
    assert body.reads < 100
    await engine.close()

"""The voice fallback adapter with its real voices and no server: Polly through real boto3
against the local fake, espeak-ng behind it. What the room never sees: a sentence cut in the
middle is not spoken again, a language Polly lacks is not an outage, probing stops on close."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge_server.core.engine_api import EngineError, SpeakingVoice, UnsupportedLanguage
from edge_server.engines.espeak.synthesizer import EspeakSynthesizer
from edge_server.engines.fallback.synthesizer import FallbackSynthesizer, VoiceUnavailable
from edge_server.engines.fallback.voice_policy import VoiceFallbackPolicy, VoiceMode
from edge_server.engines.polly.options import PollyOptions
from edge_server.engines.polly.synthesizer import PollySynthesizer
from tests.fakes.aws_env import isolate_aws
from tests.fakes.polly_fake import PollyFake, polly_pcm

pytestmark = pytest.mark.timeout(60)
T = 20.0


@pytest.fixture
async def polly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[PollyFake]:
    isolate_aws(monkeypatch, tmp_path)
    fake = await PollyFake().start()
    try:
        yield fake
    finally:
        await fake.close()


def _voices(fake: PollyFake, grace_s: float = 1.0) -> FallbackSynthesizer:
    options = PollyOptions(region="eu-west-1", engine="neural", endpoint_url=fake.url)
    return FallbackSynthesizer(
        PollySynthesizer(options), EspeakSynthesizer(), VoiceFallbackPolicy(grace_s=grace_s)
    )


async def _say(synth: FallbackSynthesizer, text: str, lang: str) -> tuple[bytes, Exception | None]:
    """The audio of one sentence, and the error that ended it (if any)."""
    audio = b""
    try:
        async with asyncio.timeout(T):
            async for chunk in synth.synthesize(text, lang):
                audio += chunk
    except EngineError as exc:
        return audio, exc
    return audio, None


async def test_a_sentence_cut_in_the_middle_is_not_spoken_again(polly: PollyFake) -> None:
    synth = _voices(polly)
    polly.cutting = True
    audio, error = await _say(synth, "uno", "it")
    assert error is not None  # the connection broke under the answer
    assert audio  # part of it was heard...
    assert b"polly|Bianca|uno|" in audio
    assert synth.voice("it") == SpeakingVoice("amazon-polly", "Bianca")  # ...from Polly only
    assert synth.state.mode is VoiceMode.RETRYING  # counted as a failure
    polly.cutting = False
    audio, error = await _say(synth, "due", "it")
    assert (audio, error) == (polly_pcm("Bianca", "due"), None)
    assert synth.state.mode is VoiceMode.PRIMARY  # a whole sentence: healthy again
    assert list(synth.switches) == []  # never left Polly
    await synth.close()


async def test_a_language_polly_lacks_is_not_an_outage(polly: PollyFake) -> None:
    synth = _voices(polly)
    audio, error = await _say(synth, "konnichiwa", "ja")
    assert isinstance(error, UnsupportedLanguage)  # reported as before: no voice for it
    assert audio == b""
    assert synth.state.mode is VoiceMode.PRIMARY
    await synth.close()


async def test_local_voice_at_once_for_a_failure_retrying_cannot_fix_and_probing_stops_on_close(
    polly: PollyFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_aws(monkeypatch, tmp_path, credentials=False)  # no credentials: not retryable
    synth = _voices(polly, grace_s=60.0)
    audio, error = await _say(synth, "buongiorno", "it")
    assert error is None
    assert len(audio) > 8000  # espeak-ng spoke it, without waiting for the grace
    assert synth.voice("it") == SpeakingVoice("espeak", "it", "amazon-polly")
    assert synth.name == "espeak"
    assert synth.health().offline
    assert "credentials" in str(synth.health().last_error).lower()
    audio, error = await _say(synth, "góðan dag", "fo")  # espeak-ng has no Faroese
    assert isinstance(error, VoiceUnavailable)
    assert "cannot speak" in str(error)
    assert polly.calls == []  # nothing was sent without credentials
    prober = synth._prober
    assert prober is not None
    assert not prober.done()
    await synth.close()
    assert prober.done()

"""Amazon Polly as a room's synthesizer: 16 kHz PCM, streamed as it is produced.

Two paths, one interface:

- **bidirectional** (``amazon-polly-streaming``, Python >= 3.13, generative voices): first audio
  while Polly is still synthesizing; concurrent languages each lease their own HTTP/2
  connection from the library's pool (Polly takes one active stream per connection);
- **classic** ``SynthesizeSpeech`` (boto3), its audio body read in chunks as it arrives, off the
  event loop. Used on Python 3.11, for non-generative engines, and whenever an endpoint or CA
  override is configured for Polly (the streaming library always dials
  ``polly.<region>.amazonaws.com`` with the system's CAs).

Voices are discovered once (DescribeVoices) and chosen by :mod:`.voices`. For every
sentence the time from the call to the first audio byte is recorded (:attr:`timings`).
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import logging
import os
import sys
import time
from collections import deque
from collections.abc import AsyncGenerator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from edge_server.core.engine_api import (
    SPEAKING,
    SpeakingVoice,
    SynthesizerHealth,
    UnsupportedLanguage,
)
from edge_server.engines.aws.config import boto3_client, new_session
from edge_server.engines.aws.errors import CloudEngineError, timeout_error
from edge_server.engines.aws.target import AwsTarget
from edge_server.engines.polly.errors import SERVICE, classify
from edge_server.engines.polly.options import (
    STREAMING_ENGINE,
    PollyOptions,
    SynthesisTiming,
    streaming_path,
)
from edge_server.engines.polly.voices import Voice, VoiceChoice, parse_voices, select_voice

log = logging.getLogger(__name__)

SAMPLE_RATE = "16000"
CHUNK_BYTES = 3200
"""Classic path: read the audio body 100 ms at a time."""


def _library_available() -> bool:
    if sys.version_info < (3, 13):
        return False
    return importlib.util.find_spec("amazon_polly_streaming") is not None


class PollySynthesizer:
    """Amazon Polly for one room (or several)."""

    name = "amazon-polly"

    def __init__(
        self,
        options: PollyOptions,
        *,
        session: Any = None,
        environ: Mapping[str, str] | None = None,
        streaming_client: Any = None,
    ) -> None:
        """``streaming_client``: an object with ``start_speech_synthesis_stream`` (tests);
        default: the library's ``PollyStreamingClient`` when the streaming path is used."""
        self.options = options
        self._executor = ThreadPoolExecutor(options.max_concurrency, "polly")
        self._voices: list[Voice] | None = None
        self._discovery = asyncio.Lock()
        self._warned: set[str] = set()
        self.timings: deque[SynthesisTiming] = deque(maxlen=200)
        """The latest syntheses, oldest first."""
        self.characters = 0
        """Characters sent to Polly (it bills per character)."""
        self.config_error: CloudEngineError | None = None
        self._client: Any = None
        self._streaming_client = streaming_client
        botocore_session = session if session is not None else new_session()
        target: AwsTarget | None = None
        try:
            self._client, target = boto3_client(
                SERVICE,
                "Polly",
                "polly",
                session=botocore_session,
                region=options.region,
                endpoint_url=options.endpoint_url,
                ca_bundle=options.ca_bundle,
                environ=os.environ if environ is None else environ,
                timeout_s=options.timeout_s,
                attempts=2,
                pool=options.max_concurrency,
            )
        except CloudEngineError as exc:
            self.config_error = exc
            log.error("%s", exc)
        library = streaming_client is not None or _library_available()
        self.streaming, reason = streaming_path(
            options.streaming, library=library, engine=options.engine, target=target
        )
        log.info("Amazon Polly: %s", reason)
        if self.streaming and self._streaming_client is None and target is not None:
            from amazon_polly_streaming import PollyStreamingClient

            self._streaming_client = PollyStreamingClient(
                region=target.region, pool_size=options.max_concurrency
            )

    async def start(self) -> None:
        """Discover the voices (DescribeVoices), once; raises CloudEngineError."""
        async with self._discovery:
            if self._voices is not None:
                return
            if self.config_error is not None:
                raise self.config_error
            loop = asyncio.get_running_loop()
            try:
                raw = await asyncio.wait_for(
                    loop.run_in_executor(self._executor, self._describe_voices),
                    self.options.timeout_s * 2,
                )
            except TimeoutError:
                raise timeout_error(SERVICE, "DescribeVoices", self.options.timeout_s * 2) from None
            except Exception as exc:
                raise classify(exc) from None
            self._voices = parse_voices(raw)
            log.info("Amazon Polly: %d voices discovered", len(self._voices))

    def _describe_voices(self) -> list[Mapping[str, Any]]:
        voices: list[Mapping[str, Any]] = []
        arguments: dict[str, Any] = {"IncludeAdditionalLanguageCodes": True}
        while True:
            answer = self._client.describe_voices(**arguments)
            voices.extend(answer.get("Voices", []))
            token = answer.get("NextToken")
            if not token:
                return voices
            arguments["NextToken"] = token

    async def probe(self) -> None:
        """Whether Polly answers now: one DescribeVoices call (free of charge), or the voice
        discovery if it never succeeded; raises CloudEngineError."""
        if self._voices is None:
            await self.start()
            return
        if self.config_error is not None:
            raise self.config_error
        loop = asyncio.get_running_loop()
        call = functools.partial(self._client.describe_voices, Engine=self.options.engine)
        try:
            await asyncio.wait_for(
                loop.run_in_executor(self._executor, call), self.options.timeout_s
            )
        except TimeoutError:
            raise timeout_error(SERVICE, "DescribeVoices", self.options.timeout_s) from None
        except Exception as exc:
            raise classify(exc) from None

    def voice(self, language: str) -> SpeakingVoice:
        """The Polly voice of ``language`` (its id is known once voices are discovered)."""
        try:
            return SpeakingVoice(self.name, self.voice_for(language).voice_id)
        except UnsupportedLanguage:
            return SpeakingVoice(self.name)

    def health(self) -> SynthesizerHealth:
        """Nothing to report: failures surface per sentence (see the voice fallback)."""
        return SPEAKING

    def voice_for(self, language: str) -> VoiceChoice:
        """The voice for a language (after :meth:`start`); raises UnsupportedLanguage."""
        engines = (self.options.engine, *self.options.fallback_engines)
        choice = select_voice(self._voices or [], language, engines, self.options.voices)
        if choice is None:
            raise UnsupportedLanguage(
                f"Amazon Polly has no {'/'.join(engines)} voice for {language}"
            )
        wanted = self.options.voices.get(language)
        if wanted and wanted.lower() != choice.voice_id.lower() and language not in self._warned:
            self._warned.add(language)
            log.warning(
                "Polly voice %s does not fit %s; using %s", wanted, language, choice.voice_id
            )
        return choice

    async def synthesize(self, text: str, language: str) -> AsyncGenerator[bytes, None]:
        """16 kHz mono s16le chunks as Polly produces them; raises CloudEngineError.

        The time from this call to the first chunk is recorded in :attr:`timings`.
        """
        started = time.monotonic()
        await self.start()
        choice = self.voice_for(language)
        streaming = self.streaming and choice.engine == STREAMING_ENGINE
        source = self._streamed(text, choice) if streaming else self._classic(text, choice)
        first: float | None = None
        ok = False
        self.characters += len(text)
        try:
            while True:
                try:
                    chunk = await asyncio.wait_for(anext(source), self.options.timeout_s)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    what = "the first audio" if first is None else "more audio"
                    raise timeout_error(SERVICE, what, self.options.timeout_s) from None
                except CloudEngineError:
                    raise
                except Exception as exc:
                    raise classify(exc) from None
                if first is None:
                    first = time.monotonic() - started
                yield chunk
            ok = True
        finally:
            await source.aclose()
            self.timings.append(
                SynthesisTiming(
                    language=language,
                    voice_id=choice.voice_id,
                    path="streaming" if streaming else "classic",
                    characters=len(text),
                    first_audio_s=first,
                    total_s=time.monotonic() - started,
                    ok=ok,
                )
            )

    async def _streamed(self, text: str, choice: VoiceChoice) -> AsyncGenerator[bytes, None]:
        stream = self._streaming_client.start_speech_synthesis_stream(
            text=text,
            voice_id=choice.voice_id,
            engine=choice.engine,
            language_code=choice.language_code,
            output_format="pcm",
            sample_rate=SAMPLE_RATE,
        )
        carry = b""
        async for chunk in stream:
            data = carry + bytes(chunk)
            cut = len(data) & ~1
            carry = data[cut:]
            if cut:
                yield data[:cut]

    async def _classic(self, text: str, choice: VoiceChoice) -> AsyncGenerator[bytes, None]:
        loop = asyncio.get_running_loop()
        call = functools.partial(
            self._client.synthesize_speech,
            Text=text,
            VoiceId=choice.voice_id,
            Engine=choice.engine,
            LanguageCode=choice.language_code,
            OutputFormat="pcm",
            SampleRate=SAMPLE_RATE,
        )
        answer = await loop.run_in_executor(self._executor, call)
        body = answer["AudioStream"]
        carry = b""
        try:
            while True:
                data = await loop.run_in_executor(self._executor, body.read, CHUNK_BYTES)
                if not data:
                    break
                data = carry + data
                cut = len(data) & ~1
                carry = data[cut:]
                if cut:
                    yield data[:cut]
        finally:
            body.close()

    def first_audio_s(self) -> list[float]:
        """Times to first audio of the recorded syntheses that produced audio, oldest first."""
        return [t.first_audio_s for t in self.timings if t.first_audio_s is not None]

    async def close(self) -> None:
        """Stop the thread pool."""
        self._executor.shutdown(wait=False, cancel_futures=True)

"""A local Amazon Polly endpoint (its REST-JSON protocol) on aiohttp, that can be told to fail
and to recover.

boto3 calls ``GET /v1/voices`` (DescribeVoices) and ``POST /v1/speech`` (SynthesizeSpeech, a
JSON body; the answer's body is the audio). The audio is recognizable: :func:`polly_pcm` of the
voice and the text, so a test can tell Polly's speech from any other and count each sentence.

``failing`` set: every request is answered ``503 ServiceFailureException`` (Polly down).
``hanging`` set: requests get no answer until it is cleared (a network that swallows packets).
``cutting`` set: a sentence's audio stops half-way and the connection is closed.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.local_http import listen_locally

VOICES: list[dict[str, Any]] = [
    {"Id": "Joanna", "Name": "Joanna", "Gender": "Female", "LanguageCode": "en-US",
     "LanguageName": "US English", "SupportedEngines": ["neural", "standard"]},
    {"Id": "Bianca", "Name": "Bianca", "Gender": "Female", "LanguageCode": "it-IT",
     "LanguageName": "Italian", "SupportedEngines": ["neural", "standard"]},
    {"Id": "Daniel", "Name": "Daniel", "Gender": "Male", "LanguageCode": "de-DE",
     "LanguageName": "German", "SupportedEngines": ["neural"]},
    {"Id": "Kajal", "Name": "Kajal", "Gender": "Female", "LanguageCode": "en-IN",
     "LanguageName": "Indian English", "AdditionalLanguageCodes": ["hi-IN"],
     "SupportedEngines": ["neural"]},
    {"Id": "Fakeyja", "Name": "Fakeyja", "Gender": "Female", "LanguageCode": "fo-FO",
     "LanguageName": "Faroese", "SupportedEngines": ["neural"]},
]  # fmt: skip
"""What DescribeVoices answers: a few real voices, and a made-up Faroese one (Polly has none):
a language espeak-ng cannot speak either, to show what happens to it during an outage."""


CUT_BYTES = 8000
"""What a cut answer sends before it breaks off (more than the adapter's first read)."""


def polly_pcm(voice: str, text: str) -> bytes:
    """The fake's "speech" for a sentence: its voice and text, as whole 16-bit samples."""
    data = f"polly|{voice}|{text}|".encode()
    return (data + b"\0" * (len(data) % 2)) * 4


@dataclass
class PollyFake:
    """The endpoint, with a record of every call."""

    failing: bool = False
    hanging: bool = False
    cutting: bool = False
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """(``DescribeVoices`` or ``SynthesizeSpeech``, its parameters), in order received."""
    spoken: list[tuple[str, str]] = field(default_factory=list)
    """(voice id, text) of every sentence answered with audio."""
    port: int = 0
    _runner: web.AppRunner | None = None
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    def fail(self) -> None:
        """Polly is down: every request gets a 503."""
        self.failing = True

    def hang(self) -> None:
        """Requests get no answer (until :meth:`recover`)."""
        self.hanging = True
        self._released.clear()

    def recover(self) -> None:
        """Polly answers again (held requests are then answered normally)."""
        self.failing = False
        self.hanging = False
        self._released.set()

    async def _gate(self) -> web.Response | None:
        if self.hanging:
            await self._released.wait()
        if self.failing:
            return web.json_response(
                {"message": "Polly is down (fake)"},
                status=503,
                headers={"x-amzn-ErrorType": "ServiceFailureException"},
            )
        return None

    async def _voices(self, request: web.Request) -> web.Response:
        self.calls.append(("DescribeVoices", dict(request.query)))
        refused = await self._gate()
        if refused is not None:
            return refused
        engine = request.query.get("Engine")
        voices = [v for v in VOICES if engine is None or engine in v["SupportedEngines"]]
        return web.json_response({"Voices": voices})

    async def _speech(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())
        self.calls.append(("SynthesizeSpeech", body))
        refused = await self._gate()
        if refused is not None:
            return refused
        known = {v["Id"] for v in VOICES}
        if body.get("VoiceId") not in known or body.get("OutputFormat") != "pcm":
            return web.json_response(
                {"message": f"bad request {body}"},
                status=400,
                headers={"x-amzn-ErrorType": "InvalidParameterValueException"},
            )
        if self.cutting:
            return await self._cut(request, polly_pcm(body["VoiceId"], body["Text"]))
        self.spoken.append((body["VoiceId"], body["Text"]))
        return web.Response(
            body=polly_pcm(body["VoiceId"], body["Text"]),
            content_type="audio/pcm",
            headers={"x-amzn-RequestCharacters": str(len(body["Text"]))},
        )

    @staticmethod
    async def _cut(request: web.Request, pcm: bytes) -> web.StreamResponse:
        """Half of a long answer, then the connection closes under it."""
        audio = pcm * (CUT_BYTES // len(pcm) + 1)
        response = web.StreamResponse(
            headers={"Content-Type": "audio/pcm", "Content-Length": str(2 * len(audio))}
        )
        await response.prepare(request)
        await response.write(audio)
        assert request.transport is not None
        request.transport.close()
        return response

    async def start(self) -> PollyFake:
        """Listen on an ephemeral port of 127.0.0.1."""
        app = web.Application()
        app.router.add_get("/v1/voices", self._voices)
        app.router.add_post("/v1/speech", self._speech)
        self._runner, self.port = await listen_locally(app)
        return self

    @property
    def url(self) -> str:
        """The endpoint URL (for ``AWS_ENDPOINT_URL_POLLY``)."""
        return f"http://127.0.0.1:{self.port}"

    async def close(self) -> None:
        """Release held requests and stop."""
        self._released.set()
        if self._runner is not None:
            await asyncio.wait_for(self._runner.cleanup(), 10)

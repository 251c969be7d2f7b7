"""Deterministic engines for the server under test, so only our own code is measured.

:class:`FixedLatencyRecognizer`: audio is silence except *trigger frames*, whose first three
samples are ``MAGIC, id & 0xFFFF, id >> 16``. Each trigger frame produces the final ``m<id>``
exactly ``latency_s`` after the frame reached the recognizer (0: at once), after an optional
fixed ``prefix`` (a sentence's worth of words, for finals of a real talk's size). No partials.

:class:`FixedSynthesizer`: every sentence is ``speech_s`` seconds of deterministic PCM in
16000-byte chunks. :class:`EchoTranslator`: ``[it] text`` for every target, at once.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Mapping, Sequence

from edge_server.core.engine_api import (
    HEALTHY,
    SPEAKING,
    Hypothesis,
    RecognizerHealth,
    SpeakingVoice,
    SynthesizerHealth,
)
from edge_server.core.settings import RoomSettings, ServerSettings

MAGIC = 0x5A5A
BYTES_PER_SECOND = 32000
FRAME_BYTES = 3200  # 100 ms


def trigger_frame(ident: int, nbytes: int = FRAME_BYTES) -> bytes:
    """A frame the fixed-latency recognizer turns into the final ``m<ident>``."""
    head = struct.pack("<HHH", MAGIC, ident & 0xFFFF, (ident >> 16) & 0xFFFF)
    return head + bytes(nbytes - len(head))


def caption_id(text: str) -> int | None:
    """The id in a caption's text (``m123`` or ``[it] m123``), or None."""
    word = text.rsplit(" ", 1)[-1]
    return int(word[1:]) if word[:1] == "m" and word[1:].isdigit() else None


class FixedLatencyStream:
    """One stream of :class:`FixedLatencyRecognizer`."""

    def __init__(self, language: str, latency_s: float, prefix: str = "") -> None:
        self.language = language
        self.latency_s = latency_s
        self.prefix = prefix
        self._queue: asyncio.Queue[Hypothesis | None] = asyncio.Queue()
        self._bytes = 0

    async def send_audio(self, pcm: bytes) -> None:
        """Count the audio; schedule a final for a trigger frame."""
        start = self._bytes / BYTES_PER_SECOND
        self._bytes += len(pcm)
        if len(pcm) >= 6:
            magic, low, high = struct.unpack_from("<HHH", pcm)
            if magic == MAGIC:
                end = self._bytes / BYTES_PER_SECOND
                hyp = Hypothesis(
                    f"{self.prefix}m{low | high << 16}", True, start, end, self.language
                )
                if self.latency_s > 0:
                    asyncio.get_running_loop().call_later(
                        self.latency_s, self._queue.put_nowait, hyp
                    )
                else:
                    self._queue.put_nowait(hyp)

    async def finish(self) -> None:
        """End of audio (pending finals scheduled with a latency are not waited for)."""
        self._queue.put_nowait(None)

    async def results(self) -> AsyncIterator[Hypothesis]:
        """Finals as they fall due."""
        while (hyp := await self._queue.get()) is not None:
            yield hyp


class FixedLatencyRecognizer:
    """A recognizer that answers trigger frames after a fixed delay."""

    def __init__(self, latency_s: float = 0.0, prefix: str = "") -> None:
        """``prefix``: words put before each final's ``m<id>`` (end it with a space)."""
        self.name = "fixed-latency"
        self.latency_s = latency_s
        self.prefix = prefix

    def supported_languages(self) -> frozenset[str] | None:
        """Any language."""
        return None

    async def open_stream(self, language: str) -> FixedLatencyStream:
        """A new stream."""
        return FixedLatencyStream(language, self.latency_s, self.prefix)

    def health(self) -> RecognizerHealth:
        """Nothing to report."""
        return HEALTHY

    async def close(self) -> None:
        """Nothing to release."""


class FixedSynthesizer:
    """``speech_s`` seconds of deterministic PCM per sentence, in 16000-byte chunks."""

    CHUNK = 16000

    def __init__(self, speech_s: float = 2.0) -> None:
        self.name = "fixed"
        total = int(speech_s * BYTES_PER_SECOND) // 2 * 2
        pattern = struct.pack("<8h", 0, 3000, 6000, 3000, 0, -3000, -6000, -3000)
        self._pcm = (pattern * (total // len(pattern) + 1))[:total]

    async def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]:
        """The sentence's PCM chunks."""
        for offset in range(0, len(self._pcm), self.CHUNK):
            yield self._pcm[offset : offset + self.CHUNK]
            await asyncio.sleep(0)

    async def close(self) -> None:
        """Nothing to release."""

    def voice(self, language: str) -> SpeakingVoice:
        """A constant voice."""
        return SpeakingVoice(self.name, "fixed")

    def health(self) -> SynthesizerHealth:
        """Nothing to report."""
        return SPEAKING


class EchoTranslator:
    """Translates ``text`` into ``[xx] text`` for each target, at once."""

    name = "echo"

    async def translate(self, text: str, source: str, targets: Sequence[str]) -> Mapping[str, str]:
        """Every target, prefixed with its code."""
        return {target: f"[{target}] {text}" for target in targets}


def fixed_recognizer_factory(latency_s: float) -> object:
    """A recognizer factory for :func:`edge_server.web.app.create_app`."""

    def factory(name: str, room: RoomSettings, server: ServerSettings) -> FixedLatencyRecognizer:
        return FixedLatencyRecognizer(latency_s)

    return factory

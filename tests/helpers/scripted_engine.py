"""A deterministic recognizer (and translator) for testing what sits around engines (fallback,
rooms).

Audio encodes its own words: a 0.5 s chunk whose samples all equal ``n`` (1..30000) is the word
``w<n>``; a chunk of zeros is a pause, which finalizes the sentence. Every engine built from this
class hears the same words in the same audio, so a test can prove that moving a stream between
engines neither loses nor repeats a word. It can be told to be unreachable, or to fail after a
number of chunks.

A stream that ends with less than a chunk buffered (a connection replaced mid-word, whose
successor starts where this one stopped) hears that last word only if the successor will not:
when the buffered audio runs into the next word, or when this stream has the whole word. So a
word cut between two streams is heard exactly once, as by a real engine that finalizes what it
has when a stream ends.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Mapping, Sequence

from websockets.asyncio.client import connect

from edge_server.core.engine_api import HEALTHY, EngineError, Hypothesis, RecognizerHealth
from tests.helpers.wire import open_audio, recv_json

CHUNK_BYTES = 16000  # 0.5 s of 16 kHz s16le


def word_audio(n: int) -> bytes:
    """0.5 s of audio that carries the word number ``n`` (0 is a pause)."""
    return struct.pack("<h", n) * (CHUNK_BYTES // 2)


class ScriptedError(EngineError):
    """A failure of the scripted engine."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class ScriptedStream:
    def __init__(self, engine: ScriptedRecognizer, language: str) -> None:
        self.engine = engine
        self.language = language
        self._buffer = bytearray()
        self._chunks = 0
        self._words: list[str] = []
        self._start = 0.0
        self._queue: asyncio.Queue[Hypothesis | BaseException | None] = asyncio.Queue()
        self._dead = False
        self._run_sample = b""
        """The last sample received, and how many equal samples end the audio so far."""
        self._run_samples = 0

    def _fail(self) -> None:
        self._dead = True
        self._queue.put_nowait(ScriptedError(f"{self.engine.name} dropped the stream"))

    async def send_audio(self, pcm: bytes) -> None:
        if self._dead:
            raise ScriptedError(f"{self.engine.name} stream is closed")
        self._buffer += pcm
        self._track_run(pcm)
        while len(self._buffer) >= CHUNK_BYTES:
            chunk = bytes(self._buffer[:CHUNK_BYTES])
            del self._buffer[:CHUNK_BYTES]
            self._chunks += 1
            if self.engine.fail_after_chunks is not None and (
                self.engine.chunks_total >= self.engine.fail_after_chunks
            ):
                self.engine.fail_after_chunks = None
                self._fail()
                raise ScriptedError(f"{self.engine.name} dropped the stream")
            self.engine.chunks_total += 1
            self._hear(chunk)
        await asyncio.sleep(0)

    def _track_run(self, pcm: bytes) -> None:
        """Keep how many equal samples end the audio received (a word is 8000 of them)."""
        whole = len(pcm) - len(pcm) % 2
        if whole < 2:
            return
        last = pcm[whole - 2 : whole]
        samples = whole // 2
        if pcm[:whole] == last * samples:  # the usual frame: inside one word
            same = samples
        else:
            same = 0
            for i in range(whole - 2, -1, -2):
                if pcm[i : i + 2] != last:
                    break
                same += 1
        if same == samples and last == self._run_sample:
            self._run_samples += samples
        else:
            self._run_sample, self._run_samples = last, same

    def _hear(self, chunk: bytes, now: float | None = None) -> None:
        (n,) = struct.unpack_from("<h", chunk)
        now = self._chunks * 0.5 if now is None else now
        if n == 0:
            self._final(now - 0.5)
            self._start = now
            return
        if not self._words:
            self._start = now - 0.5
        self._words.append(f"w{n}")
        self._queue.put_nowait(
            Hypothesis(" ".join(self._words), False, self._start, now, self.language)
        )

    def _final(self, end: float) -> None:
        if self._words:
            text = " ".join(self._words)
            self._queue.put_nowait(Hypothesis(text, True, self._start, end, self.language))
            self._words = []

    async def finish(self) -> None:
        if not self._dead:
            self._hear_the_cut_word()
            self._final(self._chunks * 0.5 + len(self._buffer) / 32000)
        self._queue.put_nowait(None)

    def _hear_the_cut_word(self) -> None:
        """The word of a last, partial chunk, if the stream that follows will not hear it."""
        rest = bytes(self._buffer[: len(self._buffer) - len(self._buffer) % 2])
        if len(rest) < 2:
            return
        first, last = rest[:2], rest[-2:]
        whole_word = last == self._run_sample and self._run_samples >= CHUNK_BYTES // 2
        if first != b"\x00\x00" and (last != first or whole_word):
            self._hear(rest, now=self._chunks * 0.5 + len(rest) / 32000)

    async def results(self) -> AsyncIterator[Hypothesis]:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


class ScriptedRecognizer:
    """A recognizer whose availability the test controls."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.down: ScriptedError | None = None
        self.fail_after_chunks: int | None = None
        self.chunks_total = 0
        self.streams_opened = 0

    def supported_languages(self) -> frozenset[str] | None:
        return None

    async def open_stream(self, language: str) -> ScriptedStream:
        if self.down is not None:
            raise self.down
        self.streams_opened += 1
        return ScriptedStream(self, language)

    def health(self) -> RecognizerHealth:
        return HEALTHY

    async def close(self) -> None:
        pass


class PrefixTranslator:
    """Deterministic: ``w1 w2`` in Italian is ``it w1 w2``."""

    name = "prefix"

    async def translate(self, text: str, source: str, targets: Sequence[str]) -> Mapping[str, str]:
        return {t: f"{t} {text}" for t in targets}


async def captions_normally(ws_base: str, room: str = "main") -> None:
    """Three scripted words spoken to ``room`` of the server at ``ws_base`` (``ws://host:port``),
    each its own sentence: three finals on a screen, in order."""
    audio, _ = await open_audio(ws_base, room)
    screen = await connect(f"{ws_base}/ws/captions/{room}?backlog=0", open_timeout=10)
    await recv_json(screen)
    for n in (1, 2, 3):
        await audio.send(word_audio(n))
        await audio.send(word_audio(0))
    texts = []
    while len(texts) < 3:
        message = await recv_json(screen)
        if message.get("type") == "final":
            texts.append(message["text"])
    assert texts == ["w1", "w2", "w3"]
    await screen.close()
    await audio.close()

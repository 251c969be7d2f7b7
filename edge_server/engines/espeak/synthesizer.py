"""A local voice for listeners' phones: Debian's espeak-ng, offline, in any of ~100 languages.

Robotic next to Amazon Polly, but it needs no network and starts speaking within tens of
milliseconds. One ``espeak-ng`` process per sentence, text on stdin (never on the command
line), its WAV read as it is produced and resampled from 22.05 to 16 kHz with soxr.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import struct
from collections.abc import AsyncGenerator, AsyncIterator

import numpy as np
import soxr

from edge_server.core.engine_api import (
    SPEAKING,
    EngineError,
    SpeakingVoice,
    SynthesizerHealth,
    UnsupportedLanguage,
)
from edge_server.engines.espeak.voices import parse_voice_list, voice_for

log = logging.getLogger(__name__)

OUTPUT_RATE = 16000
CHUNK_BYTES = 8000
"""Chunks handed to listeners: 250 ms of 16 kHz s16le."""
WAV_HEADER_LIMIT = 4096
TIMEOUT_S = 10.0


class EspeakError(EngineError):
    """espeak-ng is missing or failed."""


def _wav_format(header: bytes) -> tuple[int, int] | None:
    """(sample rate, data offset) of a streamed 16-bit mono WAV, or None if incomplete."""
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        if len(header) >= 12:
            raise EspeakError("espeak-ng did not produce a WAV stream")
        return None
    offset, rate = 12, 0
    while offset + 8 <= len(header):
        kind, size = header[offset : offset + 4], struct.unpack_from("<I", header, offset + 4)[0]
        body = offset + 8
        if kind == b"fmt ":
            if body + 16 > len(header):
                return None
            fmt, channels, rate = struct.unpack_from("<HHI", header, body)
            bits = struct.unpack_from("<H", header, body + 14)[0]
            if fmt != 1 or channels != 1 or bits != 16:
                raise EspeakError(f"unexpected espeak-ng output: format {fmt}, {channels} ch")
        elif kind == b"data":
            return (rate, body) if rate else None
        offset = body + size
    return None


class EspeakSynthesizer:
    """Speech from espeak-ng, 16 kHz mono s16le."""

    name = "espeak"

    def __init__(self, executable: str = "espeak-ng", words_per_minute: int = 165) -> None:
        self.executable = shutil.which(executable) or executable
        self.words_per_minute = words_per_minute
        self._voices: frozenset[str] | None = None

    async def _discover(self) -> frozenset[str]:
        if self._voices is None:
            try:
                process = await asyncio.create_subprocess_exec(
                    self.executable, "--voices",
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
                )  # fmt: skip
                out, _ = await asyncio.wait_for(process.communicate(), TIMEOUT_S)
            except (OSError, TimeoutError) as exc:
                raise EspeakError(
                    f"cannot run {self.executable} (apt-get install espeak-ng): {exc}"
                ) from None
            self._voices = parse_voice_list(out.decode(errors="replace"))
            log.info("espeak-ng: %d languages", len(self._voices))
        return self._voices

    def voice(self, language: str) -> SpeakingVoice:
        """espeak-ng's voice of ``language`` (known once its voice list has been read)."""
        return SpeakingVoice(self.name, voice_for(language, self._voices or ()) or "")

    def health(self) -> SynthesizerHealth:
        """Nothing to report: it runs locally."""
        return SPEAKING

    async def supported(self, language: str) -> bool:
        """Whether espeak-ng has a voice for ``language``."""
        return voice_for(language, await self._discover()) is not None

    async def synthesize(self, text: str, language: str) -> AsyncGenerator[bytes, None]:
        """PCM chunks of ``text`` spoken in ``language``; raises UnsupportedLanguage/EspeakError."""
        voice = voice_for(language, await self._discover())
        if voice is None:
            raise UnsupportedLanguage(f"espeak-ng has no voice for {language}")
        try:
            process = await asyncio.create_subprocess_exec(
                self.executable, "--stdout", "-v", voice, "-s", str(self.words_per_minute),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
        except OSError as exc:
            raise EspeakError(f"cannot run {self.executable}: {exc}") from None
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            process.stdin.write(text.encode())
            process.stdin.close()
            async for chunk in self._converted(process.stdout):
                yield chunk
            code = await asyncio.wait_for(process.wait(), TIMEOUT_S)
            if code != 0:
                raise EspeakError(f"espeak-ng exited with status {code}")
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()

    async def _converted(self, stdout: asyncio.StreamReader) -> AsyncIterator[bytes]:
        header = b""
        fmt = None
        while fmt is None:
            data = await asyncio.wait_for(stdout.read(4096), TIMEOUT_S)
            if not data:
                return
            header += data
            fmt = _wav_format(header)
            if fmt is None and len(header) > WAV_HEADER_LIMIT:
                raise EspeakError("espeak-ng's WAV header is too long")
        rate, offset = fmt
        resampler = soxr.ResampleStream(rate, OUTPUT_RATE, 1, dtype="int16", quality="HQ")
        pending = bytearray()
        data, carry = header[offset:], b""
        if not data:  # the header came alone: an empty read now means no audio at all
            data = await asyncio.wait_for(stdout.read(CHUNK_BYTES), TIMEOUT_S)
        while True:
            last = not data
            data = carry + data
            cut = len(data) & ~1
            carry = data[cut:]
            samples = np.frombuffer(data[:cut], dtype="<i2")
            pending += resampler.resample_chunk(samples, last=last).astype("<i2").tobytes()
            while len(pending) >= CHUNK_BYTES:
                yield bytes(pending[:CHUNK_BYTES])
                del pending[:CHUNK_BYTES]
            if last:
                break
            data = await asyncio.wait_for(stdout.read(CHUNK_BYTES), TIMEOUT_S)
        if pending:
            yield bytes(pending)

    async def close(self) -> None:
        """Nothing to release (one process per sentence)."""

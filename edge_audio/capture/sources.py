"""Where audio comes from: the :class:`AudioSource` protocol and its file implementation.

A source yields float32 blocks shaped ``(frames, channels)`` at its own ``sample_rate``; it does
no conversion. A live capture source (sounddevice) will sit beside :class:`FileSource` with the
same protocol. :func:`pcm_frames` turns any source into uplink-ready frames.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt
import soundfile

from edge_audio.pcm.convert import PcmConverter
from edge_audio.pcm.framing import FrameAssembler

log = logging.getLogger(__name__)

Block = npt.NDArray[np.float32]
"""A float32 array shaped ``(frames, channels)``, samples in [-1.0, 1.0]."""


class AudioSourceError(Exception):
    """A source cannot be opened or read; the message is fit to show a user."""


class AudioFileError(AudioSourceError):
    """A sound file is missing, unreadable or not in a format libsndfile understands."""


class AudioSource(Protocol):
    """Anything that yields float32 ``(frames, channels)`` blocks asynchronously."""

    @property
    def sample_rate(self) -> int:
        """Frames per second of the blocks."""
        ...

    @property
    def channels(self) -> int:
        """Columns of each block."""
        ...

    def __aiter__(self) -> AsyncIterator[Block]:
        """Iterate over the blocks until the source ends (a file) or is closed (a device)."""
        ...

    def close(self) -> None:
        """Release the file or device; safe to call more than once."""
        ...


class FileSource:
    """Reads a sound file (any format, rate, channel count and sample type that libsndfile
    reads) in blocks of ``block_frames`` frames.

    The file is opened by the constructor so a bad path fails before any connection is made.
    Blocks are read synchronously (a small read is quick) and the event loop gets a turn between
    blocks.
    """

    def __init__(self, path: str | os.PathLike[str], block_frames: int = 4096) -> None:
        """Open ``path``; raise :class:`AudioFileError` naming it if it cannot be read."""
        if block_frames <= 0:
            raise ValueError(f"block_frames must be positive, not {block_frames}")
        self.path = Path(path)
        self.block_frames = block_frames
        self._file = _open(self.path)
        self._sample_rate = int(self._file.samplerate)
        self._channels = int(self._file.channels)

    @property
    def sample_rate(self) -> int:
        """The file's sample rate."""
        return self._sample_rate

    @property
    def channels(self) -> int:
        """The file's channel count."""
        return self._channels

    @property
    def frames(self) -> int:
        """The file's length in frames (0 when libsndfile cannot tell)."""
        return max(0, int(self._file.frames))

    @property
    def duration(self) -> float:
        """The file's length in seconds."""
        return self.frames / self._sample_rate

    def describe(self) -> str:
        """A one-line description for logs: name, rate, channels, format, duration."""
        f = self._file
        return (
            f"{self.path.name} ({self._sample_rate} Hz, {self._channels} ch, "
            f"{f.format}/{f.subtype}, {self.duration:.1f} s)"
        )

    async def __aiter__(self) -> AsyncIterator[Block]:
        """Yield the file's blocks from the current position to the end."""
        while True:
            try:
                block = self._file.read(self.block_frames, dtype="float32", always_2d=True)
            except (soundfile.SoundFileError, RuntimeError) as exc:
                raise AudioFileError(f"cannot read audio file {self.path}: {exc}") from exc
            if len(block) == 0:
                return
            yield block
            await asyncio.sleep(0)

    def close(self) -> None:
        """Close the file."""
        self._file.close()


def _open(path: Path) -> soundfile.SoundFile:
    if not path.exists():
        raise AudioFileError(f"cannot read audio file {path}: no such file")
    if path.is_dir():
        raise AudioFileError(f"cannot read audio file {path}: it is a directory")
    if not os.access(path, os.R_OK):
        raise AudioFileError(f"cannot read audio file {path}: permission denied")
    try:
        return soundfile.SoundFile(path)
    except soundfile.LibsndfileError as exc:
        raise AudioFileError(
            f"cannot read audio file {path}: {exc.error_string} "
            "(not a sound file libsndfile can read)"
        ) from exc
    except (soundfile.SoundFileError, RuntimeError, OSError, TypeError) as exc:
        raise AudioFileError(f"cannot read audio file {path}: {exc}") from exc


async def pcm_frames(
    source: AudioSource, converter: PcmConverter, assembler: FrameAssembler
) -> AsyncGenerator[bytes, None]:
    """Yield uplink frames (16 kHz mono s16le) converted from ``source``'s blocks.

    When the source ends, the resampler is drained and the last short frame is yielded.
    """
    async for block in source:
        for frame in assembler.push(converter.convert(block)):
            yield frame
    for frame in assembler.push(converter.flush()):
        yield frame
    last = assembler.flush()
    if last is not None:
        yield last

"""A recognizer that keeps every byte of audio it is given, and audio that numbers its samples:
together they show whether a room recognized each sample of a stream once, in order."""

from __future__ import annotations

import numpy as np

from tests.helpers.scripted_engine import ScriptedRecognizer, ScriptedStream


def ramp(start: int, count: int) -> bytes:
    """Samples ``start .. start+count`` of a sequence that does not repeat within 4 s."""
    index = np.arange(start, start + count, dtype=np.int64)
    return ((index * 7919) % 65521 - 32760).astype("<i2").tobytes()


class RecordingStream(ScriptedStream):
    async def send_audio(self, pcm: bytes) -> None:
        assert isinstance(self.engine, RecordingRecognizer)
        self.engine.heard += pcm
        await super().send_audio(pcm)


class RecordingRecognizer(ScriptedRecognizer):
    """The scripted recognizer, keeping every byte of audio it was given, in order."""

    def __init__(self) -> None:
        super().__init__("scripted")
        self.heard = bytearray()

    async def open_stream(self, language: str) -> ScriptedStream:
        if self.down is not None:
            raise self.down
        self.streams_opened += 1
        return RecordingStream(self, language)

"""The audio on the uplink: 16 kHz mono signed 16-bit little-endian PCM, and frame limits. Pure."""

from __future__ import annotations

AUDIO_FORMAT = "s16le"
SAMPLE_RATE = 16000
CHANNELS = 1
BYTES_PER_SAMPLE = 2
BYTES_PER_SECOND = SAMPLE_RATE * CHANNELS * BYTES_PER_SAMPLE
DEFAULT_MAX_FRAME_BYTES = 6400
"""200 ms of audio: the largest frame the server accepts by default."""
WS_MAX_MESSAGE_BYTES = 64 * 1024
"""Anything larger is refused by the WebSocket layer (close 1009) before it reaches the parser."""

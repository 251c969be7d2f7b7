"""Framing between the server and a recognizer worker process (stdin/stdout pipes).

Server to worker: binary records, a 1-byte kind and a 4-byte big-endian length, then the
payload. Worker to server: one JSON object per line, ``t`` naming it: ``ready``, ``started``,
``partial`` and ``final`` (``text``, ``start``, ``end``: seconds of the stream), ``progress``
(``at``: how far it has decoded), ``step`` (a speed step applied), ``glossary`` (a glossary
applied: ``added``, ``known``, ``unpronounceable``, see :mod:`.vocabulary`), ``finished``,
``error``.
Pure code, no I/O.
"""

from __future__ import annotations

import enum
import json
import struct
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DecoderOptions:
    """Tuning of the embedded recognizer."""

    partial_interval_s: float = 0.1
    """Least audio between two partial results of one utterance (an unchanged text is not
    sent again). 0.1 s puts a word on screen 0.15 s (median) after it is said, 0.39 s at the
    95th percentile; 0.3 s gave 0.26 and 0.74 s (``python -m bench --only voice_screen``)."""
    max_utterance_s: float = 15.0
    """Continuous speech longer than this is finalized and a new utterance begun, so a speaker
    who never pauses still gets finished lines on screen."""
    vad_window_s: float = 0.3
    """Endpointer decision window: longer means fewer, longer utterances."""
    vad_ratio: float = 0.9
    """Fraction of the window that must agree to switch between speech and silence."""
    search: str = "adaptive"
    """``adaptive`` (the server steps over :data:`.search.LADDER` by lag) or one profile name."""
    progress_interval_s: float = 0.5
    """Audio between two ``progress`` events (how far the worker has decoded), so the server
    can measure the worker's lag in silence too."""
    glossary_weight: float = 3000.0
    """How much likelier than an average word a glossary word is made (its unigram
    probability is this times 1 / the vocabulary's size; see :mod:`.vocabulary`). Chosen on
    the training clips of ``python -m bench --only glossary_wer``; docs/glossary.md."""


HEADER = struct.Struct(">cI")
MAX_PAYLOAD = 1 << 20


class Command(enum.Enum):
    """What the server asks of the worker."""

    START = b"S"
    """Begin a stream; payload: JSON ``{"language": ...}``."""
    AUDIO = b"A"
    """Audio for the current stream; payload: s16le PCM."""
    FINISH = b"F"
    """End the current stream: finalize, then answer ``{"t": "finished"}``."""
    GLOSSARY = b"G"
    """The room's glossary; payload: JSON list of ``{"written": ..., "heard": [...]}`` (see
    :func:`.vocabulary.forms_to_json`). Applied between utterances; the worker answers
    ``{"t": "glossary", "added": n, "known": [...], "unpronounceable": [...]}``."""
    STEP = b"P"
    """Use another step of the speed ladder from the next utterance on; payload: JSON
    ``{"step": n}``. The worker answers ``{"t": "step", "step": n, "name": ...}`` once it
    applies it."""


def encode_command(command: Command, payload: bytes = b"") -> bytes:
    """One record for the worker's stdin."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    return HEADER.pack(command.value, len(payload)) + payload


@dataclass(frozen=True)
class DecodedCommand:
    """A record read by the worker."""

    command: Command
    payload: bytes


def decode_header(header: bytes) -> tuple[Command, int]:
    """Split a 5-byte header into its command and payload length; ValueError when invalid."""
    kind, length = HEADER.unpack(header)
    if length > MAX_PAYLOAD:
        raise ValueError(f"record length {length} exceeds {MAX_PAYLOAD}")
    return Command(kind), length


def encode_event(event: dict[str, Any]) -> bytes:
    """One line for the worker's stdout."""
    return json.dumps(event, separators=(",", ":")).encode() + b"\n"


def decode_event(line: bytes) -> dict[str, Any]:
    """Parse a worker stdout line; ValueError when it is not a JSON object with ``t``."""
    obj = json.loads(line)
    if not isinstance(obj, dict) or not isinstance(obj.get("t"), str):
        raise ValueError(f"worker sent an unexpected line: {line[:80]!r}")
    return obj

"""The audio uplink's messages (``/ws/audio/{room}``): errors and their close codes, ``hello``,
``level``, ``position``, frames; parsed for the server and built for the client. Pure, no I/O.

The server's state machine over these is :mod:`edge_server.contract.uplink_server`; what a client
makes of the server's replies is :mod:`edge_server.contract.server_replies`. See
``docs/protocol.md``.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from typing import Any

from edge_server.contract import close_codes
from edge_server.contract.audio_format import (
    AUDIO_FORMAT,
    BYTES_PER_SAMPLE,
    BYTES_PER_SECOND,
    CHANNELS,
    DEFAULT_MAX_FRAME_BYTES,
    SAMPLE_RATE,
)
from edge_server.contract.names import InvalidName, validate_language

MAX_CLIENT_FIELD = 64
MAX_DEVICE_FIELD = 128
STREAM_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
"""A stream id (``hello.stream``): 8-64 letters, digits, ``-`` or ``_``; random per node
process."""
MAX_POSITION = 2**53 - 1
"""The largest sample position (JSON numbers stay exact below 2**53: 17,800 years of audio)."""


class ErrorCode(enum.StrEnum):
    """``error.code`` values sent to audio clients."""

    BAD_HELLO = "bad_hello"
    UNSUPPORTED_FORMAT = "unsupported_format"
    UNSUPPORTED_LANGUAGE = "unsupported_language"
    BAD_FRAME = "bad_frame"
    BAD_MESSAGE = "bad_message"
    SOURCE_BUSY = "source_busy"
    RECOGNIZER_FAILED = "recognizer_failed"
    UNKNOWN_TYPE = "unknown_type"
    SHUTTING_DOWN = "shutting_down"


CLOSE_CODES: dict[ErrorCode, int] = {
    ErrorCode.BAD_HELLO: close_codes.BAD_HELLO,
    ErrorCode.UNSUPPORTED_FORMAT: close_codes.UNSUPPORTED_FORMAT,
    ErrorCode.UNSUPPORTED_LANGUAGE: close_codes.UNSUPPORTED_LANGUAGE,
    ErrorCode.BAD_FRAME: close_codes.BAD_FRAME,
    ErrorCode.BAD_MESSAGE: close_codes.BAD_MESSAGE,
    ErrorCode.SOURCE_BUSY: close_codes.SOURCE_BUSY,
    ErrorCode.RECOGNIZER_FAILED: close_codes.INTERNAL_ERROR,
    ErrorCode.SHUTTING_DOWN: close_codes.GOING_AWAY,
}
"""The errors after which the server closes the connection, with the close code it uses; the
others (``unknown_type``) are warnings and the stream goes on."""


@dataclass(frozen=True)
class ProtocolError(Exception):
    """A refusal to send to the client: ``code`` for programs, ``message`` for people."""

    code: ErrorCode
    message: str

    @property
    def fatal(self) -> bool:
        """True when the connection must be closed after the error is sent."""
        return self.code in CLOSE_CODES

    @property
    def close_code(self) -> int:
        """The WebSocket close code for a fatal error (1000 for a non-fatal one)."""
        return CLOSE_CODES.get(self.code, close_codes.NORMAL)

    def to_message(self) -> dict[str, Any]:
        """The JSON ``error`` message for the client."""
        return {"type": "error", "code": str(self.code), "message": self.message}

    def close_reason(self) -> str:
        """A close reason short enough for a close frame (at most 123 bytes of UTF-8)."""
        reason = f"{self.code}: {self.message}"
        encoded = reason.encode()[:123]
        return encoded.decode(errors="ignore")


@dataclass(frozen=True)
class StreamHello:
    """What the client said about its stream in ``hello``."""

    language: str | None
    """Spoken language, or None to use the room's configured source language."""
    client_name: str
    client_version: str
    device: str = ""
    """The capture device the node described (empty when it did not say)."""
    stream: str | None = None
    """The node's stream id: it sends ``position`` messages and may resend audio after a
    reconnect. None: an older node, whose frames are taken as they come."""


@dataclass(frozen=True)
class SignalLevel:
    """Signal health measured on the audio node (``level`` message)."""

    rms_dbfs: float
    peak_dbfs: float
    clipping: bool
    silent_s: float
    no_signal: bool


def load_object(text: str | bytes, code: ErrorCode, what: str) -> dict[str, Any]:
    """``text`` as a JSON object, or :class:`ProtocolError` ``code`` naming ``what`` it was."""
    try:
        value = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(code, f"{what} is not valid JSON ({exc.__class__.__name__})") from None
    except RecursionError:  # "[[[[...": deeper than the interpreter's recursion limit
        raise ProtocolError(code, f"{what} is nested too deeply") from None
    if not isinstance(value, dict):
        raise ProtocolError(code, f"{what} must be a JSON object")
    return value


def _client_field(client: dict[str, Any], key: str) -> str:
    value = client.get(key, "")
    if not isinstance(value, str) or len(value) > MAX_CLIENT_FIELD:
        raise ProtocolError(
            ErrorCode.BAD_HELLO, f"client.{key} must be a string of at most {MAX_CLIENT_FIELD}"
        )
    return value


def parse_hello(text: str | bytes) -> StreamHello:
    """Parse and check the first message; raise :class:`ProtocolError` when it is not valid."""
    obj = load_object(text, ErrorCode.BAD_HELLO, "the first message")
    if obj.get("type") != "hello":
        raise ProtocolError(ErrorCode.BAD_HELLO, "the first message must have type 'hello'")
    expected: dict[str, object] = {
        "format": AUDIO_FORMAT,
        "sample_rate": SAMPLE_RATE,
        "channels": CHANNELS,
    }
    for key, want in expected.items():
        got = obj.get(key)
        if got is None:
            raise ProtocolError(ErrorCode.BAD_HELLO, f"hello is missing '{key}'")
        if type(got) is not type(want):
            raise ProtocolError(
                ErrorCode.BAD_HELLO, f"hello '{key}' must be a {type(want).__name__}"
            )
        if got != want:
            raise ProtocolError(
                ErrorCode.UNSUPPORTED_FORMAT,
                f"{key} {got!r} is not supported: send {AUDIO_FORMAT} mono {SAMPLE_RATE} Hz "
                "(edge-audio converts any input to it)",
            )
    language = obj.get("language")
    if language is not None:
        try:
            validate_language(language)
        except InvalidName as exc:
            raise ProtocolError(ErrorCode.UNSUPPORTED_LANGUAGE, str(exc)) from None
    client = obj.get("client", {})
    if not isinstance(client, dict):
        raise ProtocolError(ErrorCode.BAD_HELLO, "hello 'client' must be an object")
    device = obj.get("device", "")
    if not isinstance(device, str) or len(device) > MAX_DEVICE_FIELD:
        raise ProtocolError(
            ErrorCode.BAD_HELLO, f"hello 'device' must be a string of at most {MAX_DEVICE_FIELD}"
        )
    stream = obj.get("stream")
    if stream is not None and not (isinstance(stream, str) and STREAM_ID.fullmatch(stream)):
        raise ProtocolError(
            ErrorCode.BAD_HELLO, "hello 'stream' must be 8-64 letters, digits, '-' or '_'"
        )
    return StreamHello(
        language=language,
        client_name=_client_field(client, "name"),
        client_version=_client_field(client, "version"),
        device=device,
        stream=stream,
    )


def number_field(obj: dict[str, Any], key: str, low: float, high: float) -> float:
    """``obj[key]`` as a number within ``low..high``, or :class:`ProtocolError` ``bad_message``."""
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{key}' must be a number")
    if not low <= value <= high:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{key}' {value} is outside {low}..{high}")
    return float(value)


def parse_position(obj: dict[str, Any]) -> int:
    """The sample index of a ``position`` message (``bad_message`` unless a whole number within
    ``0..MAX_POSITION``)."""
    value = obj.get("sample")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "'sample' must be a whole number")
    if not 0 <= value <= MAX_POSITION:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'sample' {value} is outside 0..2**53-1")
    return value


def _flag(obj: dict[str, Any], key: str) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{key}' must be true or false")
    return value


def parse_level(obj: dict[str, Any]) -> SignalLevel:
    """Check a ``level`` message's fields."""
    return SignalLevel(
        rms_dbfs=number_field(obj, "rms_dbfs", -200.0, 10.0),
        peak_dbfs=number_field(obj, "peak_dbfs", -200.0, 10.0),
        clipping=_flag(obj, "clipping"),
        silent_s=number_field(obj, "silent_s", 0.0, 1e7),
        no_signal=_flag(obj, "no_signal"),
    )


def check_frame(pcm: bytes, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
    """Raise :class:`ProtocolError` unless ``pcm`` is a non-empty, whole-sample, small frame."""
    size = len(pcm)
    if size == 0:
        raise ProtocolError(ErrorCode.BAD_FRAME, "empty audio frame")
    if size % BYTES_PER_SAMPLE:
        raise ProtocolError(
            ErrorCode.BAD_FRAME, f"audio frame of {size} bytes is not whole 16-bit samples"
        )
    if size > max_frame_bytes:
        raise ProtocolError(
            ErrorCode.BAD_FRAME,
            f"audio frame of {size} bytes exceeds {max_frame_bytes} "
            f"({max_frame_bytes * 1000 // BYTES_PER_SECOND} ms); send smaller frames",
        )


# --- client side ----------------------------------------------------------------------------


def build_hello(
    language: str | None,
    client_name: str,
    client_version: str,
    device: str | None = None,
    stream: str | None = None,
) -> str:
    """The ``hello`` text a client sends first.

    ``device`` (optional) describes the capture device; it is cut to the
    :data:`MAX_DEVICE_FIELD` characters the server accepts, and left out when empty.
    ``stream`` (optional, see :data:`STREAM_ID`) says the client will send ``position``.
    """
    msg: dict[str, Any] = {
        "type": "hello",
        "format": AUDIO_FORMAT,
        "sample_rate": SAMPLE_RATE,
        "channels": CHANNELS,
        "client": {"name": client_name, "version": client_version},
    }
    if language is not None:
        msg["language"] = language
    if device:
        msg["device"] = device[:MAX_DEVICE_FIELD]
    if stream is not None:
        msg["stream"] = stream
    return json.dumps(msg)


def build_position(sample: int) -> str:
    """The ``position`` text: the next frame starts at ``sample`` of the client's stream."""
    return json.dumps({"type": "position", "sample": sample})


def build_end() -> str:
    """The ``end`` text a client sends after its last frame."""
    return json.dumps({"type": "end"})

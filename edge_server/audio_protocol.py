"""The audio uplink protocol (``/ws/audio/{room}``) as a state machine with no I/O.

The WebSocket handler feeds it each received message and acts on the events it returns; it never
parses JSON or checks a frame itself. The client side (``edge_audio``) uses :func:`build_hello`
and :func:`parse_server_message`. See ``docs/protocol.md``.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

from edge_server.names import InvalidName, validate_language

AUDIO_FORMAT = "s16le"
SAMPLE_RATE = 16000
CHANNELS = 1
BYTES_PER_SAMPLE = 2
BYTES_PER_SECOND = SAMPLE_RATE * CHANNELS * BYTES_PER_SAMPLE
DEFAULT_MAX_FRAME_BYTES = 6400
"""200 ms of audio: the largest frame the server accepts by default."""
WS_MAX_MESSAGE_BYTES = 64 * 1024
"""Anything larger is refused by the WebSocket layer (close 1009) before it reaches the parser."""
MAX_CLIENT_FIELD = 64
MAX_DEVICE_FIELD = 128


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
    ErrorCode.BAD_HELLO: 4000,
    ErrorCode.UNSUPPORTED_FORMAT: 4001,
    ErrorCode.UNSUPPORTED_LANGUAGE: 4002,
    ErrorCode.BAD_FRAME: 4003,
    ErrorCode.BAD_MESSAGE: 4004,
    ErrorCode.SOURCE_BUSY: 4009,
    ErrorCode.RECOGNIZER_FAILED: 1011,
    ErrorCode.SHUTTING_DOWN: 1001,
}


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
        return CLOSE_CODES.get(self.code, 1000)

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


# --- events returned by the state machine -------------------------------------------------


@dataclass(frozen=True)
class HelloReceived:
    """The first message was a valid ``hello``."""

    hello: StreamHello


@dataclass(frozen=True)
class AudioReceived:
    """A valid audio frame."""

    pcm: bytes


@dataclass(frozen=True)
class EndReceived:
    """The client said the stream is over."""


@dataclass(frozen=True)
class SignalLevel:
    """Signal health measured on the audio node (``level`` message)."""

    rms_dbfs: float
    peak_dbfs: float
    clipping: bool
    silent_s: float
    no_signal: bool


@dataclass(frozen=True)
class LevelReceived:
    """The node reported its signal level."""

    level: SignalLevel


@dataclass(frozen=True)
class GapReceived:
    """The node reconnected and reports audio it was away for and audio it dropped."""

    dropped_s: float
    offline_s: float


@dataclass(frozen=True)
class Refused:
    """The client broke the protocol; send ``error`` and, when fatal, close."""

    error: ProtocolError


UplinkEvent = HelloReceived | AudioReceived | EndReceived | LevelReceived | GapReceived | Refused


class UplinkState(enum.Enum):
    """Where the uplink conversation is."""

    AWAIT_HELLO = "await_hello"
    STREAMING = "streaming"
    CLOSED = "closed"


def _load_object(text: str | bytes, code: ErrorCode, what: str) -> dict[str, Any]:
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
    obj = _load_object(text, ErrorCode.BAD_HELLO, "the first message")
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
    return StreamHello(
        language=language,
        client_name=_client_field(client, "name"),
        client_version=_client_field(client, "version"),
        device=device,
    )


def _number(obj: dict[str, Any], key: str, low: float, high: float) -> float:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{key}' must be a number")
    if not low <= value <= high:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{key}' {value} is outside {low}..{high}")
    return float(value)


def _flag(obj: dict[str, Any], key: str) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{key}' must be true or false")
    return value


def parse_level(obj: dict[str, Any]) -> SignalLevel:
    """Check a ``level`` message's fields."""
    return SignalLevel(
        rms_dbfs=_number(obj, "rms_dbfs", -200.0, 10.0),
        peak_dbfs=_number(obj, "peak_dbfs", -200.0, 10.0),
        clipping=_flag(obj, "clipping"),
        silent_s=_number(obj, "silent_s", 0.0, 1e7),
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


class AudioUplinkProtocol:
    """The server's side of one audio connection: messages in, :data:`UplinkEvent` out.

    A fatal refusal moves the machine to ``CLOSED``; anything received after that is ignored.
    """

    def __init__(self, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.state = UplinkState.AWAIT_HELLO
        self.frames = 0
        self.audio_bytes = 0

    def _refuse(self, error: ProtocolError) -> list[UplinkEvent]:
        if error.fatal:
            self.state = UplinkState.CLOSED
        return [Refused(error)]

    def receive_text(self, text: str) -> list[UplinkEvent]:
        """Handle one text message."""
        if self.state is UplinkState.CLOSED:
            return []
        if self.state is UplinkState.AWAIT_HELLO:
            try:
                hello = parse_hello(text)
            except ProtocolError as exc:
                return self._refuse(exc)
            self.state = UplinkState.STREAMING
            return [HelloReceived(hello)]
        try:
            obj = _load_object(text, ErrorCode.BAD_MESSAGE, "a control message")
        except ProtocolError as exc:
            return self._refuse(exc)
        kind = obj.get("type")
        if not isinstance(kind, str):
            return self._refuse(
                ProtocolError(ErrorCode.BAD_MESSAGE, "a control message needs a string 'type'")
            )
        if kind == "end":
            self.state = UplinkState.CLOSED
            return [EndReceived()]
        try:
            if kind == "level":
                return [LevelReceived(parse_level(obj))]
            if kind == "gap":
                return [
                    GapReceived(
                        dropped_s=_number(obj, "dropped_s", 0.0, 86400.0),
                        offline_s=_number(obj, "offline_s", 0.0, 1e7),
                    )
                ]
        except ProtocolError as exc:
            return self._refuse(exc)
        return self._refuse(
            ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {kind[:40]!r} ignored")
        )

    def receive_binary(self, data: bytes) -> list[UplinkEvent]:
        """Handle one binary message (an audio frame)."""
        if self.state is UplinkState.CLOSED:
            return []
        if self.state is UplinkState.AWAIT_HELLO:
            return self._refuse(
                ProtocolError(ErrorCode.BAD_HELLO, "send a JSON 'hello' before any audio")
            )
        try:
            check_frame(data, self.max_frame_bytes)
        except ProtocolError as exc:
            return self._refuse(exc)
        self.frames += 1
        self.audio_bytes += len(data)
        return [AudioReceived(data)]


# --- client side ----------------------------------------------------------------------------


def build_hello(
    language: str | None, client_name: str, client_version: str, device: str | None = None
) -> str:
    """The ``hello`` text a client sends first.

    ``device`` (optional) describes the capture device; it is cut to the
    :data:`MAX_DEVICE_FIELD` characters the server accepts, and left out when empty.
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
    return json.dumps(msg)


def build_end() -> str:
    """The ``end`` text a client sends after its last frame."""
    return json.dumps({"type": "end"})


class ServerMessageError(ValueError):
    """The server sent something that is not a JSON object with a string ``type``."""


def parse_server_message(text: str | bytes) -> dict[str, Any]:
    """Parse a server text message for a client; raise :class:`ServerMessageError` if malformed."""
    try:
        obj = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ServerMessageError(f"server sent invalid JSON: {exc}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise ServerMessageError("server message is not an object with a string 'type'")
    return obj

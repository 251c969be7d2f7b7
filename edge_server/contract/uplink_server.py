"""The server's side of one audio uplink as a state machine with no I/O: messages in, events out.

The WebSocket handler (:mod:`edge_server.web.ws_audio`) feeds it each received message and acts
on the events it returns; it never parses JSON or checks a frame itself. See
``docs/protocol.md``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from edge_server.contract.audio_format import BYTES_PER_SAMPLE, DEFAULT_MAX_FRAME_BYTES
from edge_server.contract.uplink import (
    ErrorCode,
    ProtocolError,
    SignalLevel,
    StreamHello,
    check_frame,
    load_object,
    number_field,
    parse_hello,
    parse_level,
    parse_position,
)


@dataclass(frozen=True)
class HelloReceived:
    """The first message was a valid ``hello``."""

    hello: StreamHello


@dataclass(frozen=True)
class AudioReceived:
    """A valid audio frame."""

    pcm: bytes
    position: int | None = None
    """The sample index of its first sample in the node's stream (None: an unpositioned
    stream, the node said no ``stream`` in ``hello``)."""


@dataclass(frozen=True)
class EndReceived:
    """The client said the stream is over."""


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


class AudioUplinkProtocol:
    """The server's side of one audio connection: messages in, :data:`UplinkEvent` out.

    A fatal refusal moves the machine to ``CLOSED``; anything received after that is ignored.
    A client that named a ``stream`` in ``hello`` says where its frames go with ``position``
    (before its first frame, and whenever its audio does not follow on from the last frame);
    the machine counts on from there and gives each frame its position.
    """

    def __init__(self, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.state = UplinkState.AWAIT_HELLO
        self.frames = 0
        self.audio_bytes = 0
        self.stream: str | None = None
        """The client's stream id (None: it sends no positions)."""
        self.position: int | None = None
        """The sample index the next frame starts at (positioned streams)."""

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
            self.stream = hello.stream
            return [HelloReceived(hello)]
        try:
            obj = load_object(text, ErrorCode.BAD_MESSAGE, "a control message")
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
            if kind == "position":
                if self.stream is None:
                    raise ProtocolError(
                        ErrorCode.BAD_MESSAGE, "'position' needs a 'stream' in hello"
                    )
                self.position = parse_position(obj)
                return []
            if kind == "gap":
                return [
                    GapReceived(
                        dropped_s=number_field(obj, "dropped_s", 0.0, 86400.0),
                        offline_s=number_field(obj, "offline_s", 0.0, 1e7),
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
        position = self.position
        if self.stream is not None:
            if position is None:
                return self._refuse(
                    ProtocolError(
                        ErrorCode.BAD_MESSAGE,
                        "a stream named in hello sends 'position' before its first frame",
                    )
                )
            self.position = position + len(data) // BYTES_PER_SAMPLE
        self.frames += 1
        self.audio_bytes += len(data)
        return [AudioReceived(data, position)]

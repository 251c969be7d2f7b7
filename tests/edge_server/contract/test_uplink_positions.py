"""Stream ids and ``position`` on the audio uplink (pure, table-driven), and that a client
without them is taken exactly as before."""

from __future__ import annotations

import json

import pytest

from edge_server.contract.uplink import (
    ErrorCode,
    ProtocolError,
    build_hello,
    build_position,
    parse_hello,
)
from edge_server.contract.uplink_server import (
    AudioReceived,
    AudioUplinkProtocol,
    EndReceived,
    Refused,
    UplinkState,
)

GOOD = {"type": "hello", "format": "s16le", "sample_rate": 16000, "channels": 1}
STREAM = "0123456789abcdef"


def hello(**extra: object) -> str:
    return json.dumps(GOOD | extra)


@pytest.mark.parametrize(
    ("stream", "ok"),
    [
        (STREAM, True),
        ("a-b_C-d9", True),
        ("x" * 64, True),
        ("short", False),
        ("x" * 65, False),
        ("has space here", False),
        ("ünïcödé-ünïcödé", False),
        (12345678, False),
        ({"id": STREAM}, False),
    ],
)
def test_stream_id_in_hello(stream: object, ok: bool) -> None:
    if ok:
        assert parse_hello(hello(stream=stream)).stream == stream
    else:
        with pytest.raises(ProtocolError) as info:
            parse_hello(hello(stream=stream))
        assert info.value.code == ErrorCode.BAD_HELLO
        assert info.value.fatal


def test_hello_without_stream_and_the_builder() -> None:
    assert parse_hello(hello()).stream is None
    assert parse_hello(build_hello(None, "edge-audio", "1")).stream is None
    assert "stream" not in json.loads(build_hello(None, "edge-audio", "1"))
    assert parse_hello(build_hello(None, "edge-audio", "1", stream=STREAM)).stream == STREAM
    assert json.loads(build_position(48000)) == {"type": "position", "sample": 48000}


def positioned() -> AudioUplinkProtocol:
    proto = AudioUplinkProtocol(max_frame_bytes=3200)
    proto.receive_text(hello(stream=STREAM))
    return proto


def test_frames_are_counted_on_from_each_position() -> None:
    proto = positioned()
    assert proto.receive_text(build_position(1000)) == []
    assert proto.receive_binary(b"\0\0" * 100) == [AudioReceived(b"\0\0" * 100, 1000)]
    assert proto.receive_binary(b"\0\0" * 50) == [AudioReceived(b"\0\0" * 50, 1100)]
    # A resend goes back; a gap jumps ahead.
    proto.receive_text(build_position(900))
    assert proto.receive_binary(b"\0\0" * 10) == [AudioReceived(b"\0\0" * 10, 900)]
    proto.receive_text(build_position(5000))
    assert proto.receive_binary(b"\0\0") == [AudioReceived(b"\0\0", 5000)]
    assert proto.receive_text('{"type": "end"}') == [EndReceived()]


@pytest.mark.parametrize(
    "message",
    [
        {"type": "position"},
        {"type": "position", "sample": -1},
        {"type": "position", "sample": 1.5},
        {"type": "position", "sample": "12"},
        {"type": "position", "sample": True},
        {"type": "position", "sample": 2**53},
    ],
)
def test_bad_position_is_refused_and_closes(message: dict[str, object]) -> None:
    proto = positioned()
    [event] = proto.receive_text(json.dumps(message))
    assert isinstance(event, Refused)
    assert event.error.code == ErrorCode.BAD_MESSAGE
    assert event.error.fatal
    assert proto.state is UplinkState.CLOSED


def test_a_positioned_stream_must_say_where_its_first_frame_goes() -> None:
    proto = positioned()
    [event] = proto.receive_binary(b"\0\0")
    assert isinstance(event, Refused)
    assert event.error.code == ErrorCode.BAD_MESSAGE
    assert "position" in event.error.message
    assert proto.state is UplinkState.CLOSED


def test_position_without_a_stream_is_refused() -> None:
    proto = AudioUplinkProtocol()
    proto.receive_text(hello())
    [event] = proto.receive_text(build_position(0))
    assert isinstance(event, Refused)
    assert event.error.code == ErrorCode.BAD_MESSAGE
    assert "stream" in event.error.message


def test_an_older_client_is_taken_as_before() -> None:
    """No ``stream`` in hello: frames carry no position and need none."""
    proto = AudioUplinkProtocol(max_frame_bytes=3200)
    proto.receive_text(hello(client={"name": "edge-audio", "version": "0.1.0"}))
    assert proto.stream is None
    assert proto.receive_binary(b"\1\0" * 10) == [AudioReceived(b"\1\0" * 10)]
    assert proto.receive_binary(b"\1\0" * 10) == [AudioReceived(b"\1\0" * 10, None)]

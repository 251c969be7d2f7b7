"""The audio uplink protocol core: pure, table-driven."""

from __future__ import annotations

import json

import pytest

from edge_server.contract.uplink import (
    ErrorCode,
    ProtocolError,
    build_end,
    build_hello,
    check_frame,
    parse_hello,
)
from edge_server.contract.uplink_server import (
    AudioReceived,
    AudioUplinkProtocol,
    EndReceived,
    HelloReceived,
    Refused,
    UplinkState,
)

GOOD = {"type": "hello", "format": "s16le", "sample_rate": 16000, "channels": 1}


def hello(**changes: object) -> str:
    msg = dict(GOOD)
    for key, value in changes.items():
        if value is ...:
            msg.pop(key, None)
        else:
            msg[key] = value
    return json.dumps(msg)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("not json", ErrorCode.BAD_HELLO),
        ("[1, 2]", ErrorCode.BAD_HELLO),
        ('"hello"', ErrorCode.BAD_HELLO),
        (hello(type="end"), ErrorCode.BAD_HELLO),
        (hello(type=...), ErrorCode.BAD_HELLO),
        (hello(format=...), ErrorCode.BAD_HELLO),
        (hello(sample_rate="16000"), ErrorCode.BAD_HELLO),
        (hello(channels=True), ErrorCode.BAD_HELLO),
        (hello(format="f32le"), ErrorCode.UNSUPPORTED_FORMAT),
        (hello(sample_rate=48000), ErrorCode.UNSUPPORTED_FORMAT),
        (hello(sample_rate=8000), ErrorCode.UNSUPPORTED_FORMAT),
        (hello(channels=2), ErrorCode.UNSUPPORTED_FORMAT),
        (hello(language="english"), ErrorCode.UNSUPPORTED_LANGUAGE),
        (hello(language=42), ErrorCode.UNSUPPORTED_LANGUAGE),
        (hello(client="x"), ErrorCode.BAD_HELLO),
        (hello(client={"name": 1}), ErrorCode.BAD_HELLO),
        (hello(client={"name": "x" * 65}), ErrorCode.BAD_HELLO),
    ],
)
def test_bad_hello_is_refused_with_a_specific_code(text: str, code: ErrorCode) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_hello(text)
    assert info.value.code == code
    assert info.value.fatal
    assert 4000 <= info.value.close_code < 4100
    assert info.value.message


@pytest.mark.parametrize(
    ("text", "language", "name"),
    [
        (hello(), None, ""),
        (hello(language="en-US"), "en-US", ""),
        (hello(language="it", client={"name": "edge-audio", "version": "1"}), "it", "edge-audio"),
        (build_hello("de-DE", "edge-audio", "0.1.0"), "de-DE", "edge-audio"),
    ],
)
def test_good_hello(text: str, language: str | None, name: str) -> None:
    parsed = parse_hello(text)
    assert parsed.language == language
    assert parsed.client_name == name


@pytest.mark.parametrize(
    ("size", "ok"),
    [(0, False), (1, False), (2, True), (3, False), (640, True), (6400, True), (6402, False)],
)
def test_frame_sizes(size: int, ok: bool) -> None:
    if ok:
        check_frame(b"\0" * size, 6400)
    else:
        with pytest.raises(ProtocolError) as info:
            check_frame(b"\0" * size, 6400)
        assert info.value.code == ErrorCode.BAD_FRAME
        assert info.value.close_code == 4003


def test_state_machine_happy_path() -> None:
    proto = AudioUplinkProtocol(max_frame_bytes=3200)
    assert proto.state is UplinkState.AWAIT_HELLO
    [event] = proto.receive_text(hello(language="en-US"))
    assert isinstance(event, HelloReceived)
    assert proto.state is UplinkState.STREAMING
    assert proto.receive_binary(b"\1\0" * 10) == [AudioReceived(b"\1\0" * 10)]
    assert proto.frames == 1
    assert proto.audio_bytes == 20
    assert proto.receive_text(build_end()) == [EndReceived()]
    assert proto.state is UplinkState.CLOSED
    assert proto.receive_binary(b"\0\0") == []


def test_audio_before_hello_is_refused_and_closes() -> None:
    proto = AudioUplinkProtocol()
    [event] = proto.receive_binary(b"\0\0")
    assert isinstance(event, Refused)
    assert event.error.code == ErrorCode.BAD_HELLO
    assert proto.state is UplinkState.CLOSED
    assert proto.receive_text(hello()) == []


@pytest.mark.parametrize(
    ("text", "code", "fatal"),
    [
        ("{nope", ErrorCode.BAD_MESSAGE, True),
        ("[]", ErrorCode.BAD_MESSAGE, True),
        ('{"type": 3}', ErrorCode.BAD_MESSAGE, True),
        ('{"type": "dance"}', ErrorCode.UNKNOWN_TYPE, False),
    ],
)
def test_control_messages_after_hello(text: str, code: ErrorCode, fatal: bool) -> None:
    proto = AudioUplinkProtocol()
    proto.receive_text(hello())
    [event] = proto.receive_text(text)
    assert isinstance(event, Refused)
    assert event.error.code == code
    assert event.error.fatal is fatal
    assert (proto.state is UplinkState.CLOSED) is fatal


def test_close_reason_fits_a_close_frame() -> None:
    error = ProtocolError(ErrorCode.BAD_HELLO, "é" * 200)
    assert len(error.close_reason().encode()) <= 123
    assert error.to_message()["code"] == "bad_hello"


def test_level_and_gap_messages() -> None:
    from edge_server.contract.uplink import SignalLevel
    from edge_server.contract.uplink_server import GapReceived, LevelReceived

    proto = AudioUplinkProtocol()
    proto.receive_text(hello(device="pipewire:alsa_input.usb-UMC204HD"))
    level = {"type": "level", "rms_dbfs": -23.5, "peak_dbfs": -6, "clipping": False,
             "silent_s": 0, "no_signal": False}  # fmt: skip
    assert proto.receive_text(json.dumps(level)) == [
        LevelReceived(SignalLevel(-23.5, -6.0, False, 0.0, False))
    ]
    assert proto.receive_text('{"type": "gap", "dropped_s": 2.5, "offline_s": 10}') == [
        GapReceived(2.5, 10.0)
    ]


@pytest.mark.parametrize(
    "message",
    [
        {"type": "level", "rms_dbfs": "loud", "peak_dbfs": 0, "silent_s": 0},
        {"type": "level", "rms_dbfs": -20, "peak_dbfs": 0, "silent_s": -1},
        {"type": "level", "rms_dbfs": -20, "peak_dbfs": 0, "silent_s": 0, "clipping": "no"},
        {"type": "gap", "dropped_s": -1, "offline_s": 1},
        {"type": "gap", "dropped_s": True, "offline_s": 1},
    ],
)
def test_bad_level_or_gap_is_refused(message: dict[str, object]) -> None:
    proto = AudioUplinkProtocol()
    proto.receive_text(hello())
    [event] = proto.receive_text(json.dumps(message))
    assert isinstance(event, Refused)
    assert event.error.code == ErrorCode.BAD_MESSAGE


def test_device_in_hello() -> None:
    assert parse_hello(hello(device="hw:2,0")).device == "hw:2,0"
    with pytest.raises(ProtocolError):
        parse_hello(hello(device="x" * 129))

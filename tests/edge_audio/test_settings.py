"""edge-audio run settings (pure): environment file syntax, priorities, validation."""

from __future__ import annotations

from typing import Any

import pytest

from edge_audio.settings import (
    NodeSettings,
    SettingsError,
    load_settings,
    parse_channel,
    parse_env_file,
)

BASE = {"EDGE_AUDIO_SERVER": "http://display-pi:8080", "EDGE_AUDIO_ROOM": "aula-magna"}


def test_env_file_syntax() -> None:
    text = """
# edge-audio settings
; also a comment
EDGE_AUDIO_SERVER=http://display-pi:8080
EDGE_AUDIO_ROOM = aula-magna
EDGE_AUDIO_DEVICE="Behringer|UMC|Focusrite|USB Audio"
EDGE_AUDIO_LANG='en-US'
EDGE_AUDIO_TOKEN=
"""
    assert parse_env_file(text) == {
        "EDGE_AUDIO_SERVER": "http://display-pi:8080",
        "EDGE_AUDIO_ROOM": "aula-magna",
        "EDGE_AUDIO_DEVICE": "Behringer|UMC|Focusrite|USB Audio",
        "EDGE_AUDIO_LANG": "en-US",
        "EDGE_AUDIO_TOKEN": "",
    }


@pytest.mark.parametrize("line", ["EDGE_AUDIO_ROOM", "1ABC=x", "A-B=x", "=x"])
def test_env_file_errors_name_the_line(line: str) -> None:
    with pytest.raises(SettingsError, match=r"edge-audio.env, line 2"):
        parse_env_file(f"# ok\n{line}\n", "edge-audio.env")


def test_defaults() -> None:
    s = load_settings(BASE, {}, {})
    assert (s.server, s.room, s.language, s.device, s.channel) == (
        "http://display-pi:8080", "aula-magna", None, "default", "mix",
    )  # fmt: skip
    assert (s.buffer_seconds, s.silence_dbfs, s.no_signal_seconds, s.frame_ms) == (60, -50, 30, 100)
    assert s.url == "ws://display-pi:8080/ws/audio/aula-magna"
    assert s.buffer_bytes == 60 * 32000
    assert s.preference.kind == "default"
    assert s.converter_channel == "mix"


def test_file_then_environment_then_flags() -> None:
    file = {**BASE, "EDGE_AUDIO_FRAME_MS": "20", "EDGE_AUDIO_CHANNEL": "2", "EDGE_AUDIO_LANG": "it"}
    env = {"EDGE_AUDIO_FRAME_MS": "40", "EDGE_AUDIO_CHANNEL": "", "EDGE_AUDIO_TOKEN": "s3cret"}
    s = load_settings(file, env, {"frame_ms": 60, "language": None})
    assert s.frame_ms == 60  # flag over environment over file
    assert s.channel == 2  # an empty variable does not hide the file's value
    assert s.converter_channel == 1
    assert s.language == "it"
    assert s.token == "s3cret"
    assert "s3cret" not in repr(s)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("mix", "mix"), ("MIX", "mix"), ("left", 1), ("right", 2), ("1", 1), ("18", 18)],
)
def test_channel(text: str, expected: Any) -> None:
    assert parse_channel(text) == expected


@pytest.mark.parametrize(
    ("text", "hint"), [("0", "numbered from 1"), ("-1", "input number"), ("x", "mix")]
)
def test_channel_errors(text: str, hint: str) -> None:
    with pytest.raises(ValueError, match=hint):
        parse_channel(text)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"EDGE_AUDIO_SERVER": "ftp://x"}, "EDGE_AUDIO_SERVER: .*must start with"),
        ({"EDGE_AUDIO_ROOM": "Aula Magna"}, "EDGE_AUDIO_ROOM"),
        ({"EDGE_AUDIO_LANG": "english"}, "EDGE_AUDIO_LANG"),
        ({"EDGE_AUDIO_DEVICE": "UMC("}, "EDGE_AUDIO_DEVICE: .*not a valid pattern"),
        ({"EDGE_AUDIO_CHANNEL": "0"}, "EDGE_AUDIO_CHANNEL: .*numbered from 1"),
        ({"EDGE_AUDIO_BUFFER_SECONDS": "abc"}, "EDGE_AUDIO_BUFFER_SECONDS: 'abc' is not a number"),
        ({"EDGE_AUDIO_BUFFER_SECONDS": "0.5"}, "EDGE_AUDIO_BUFFER_SECONDS: 0.5 is outside 1-600"),
        ({"EDGE_AUDIO_BUFFER_SECONDS": "nan"}, "EDGE_AUDIO_BUFFER_SECONDS: 'nan' is not a finite"),
        ({"EDGE_AUDIO_SILENCE_DBFS": "10"}, "EDGE_AUDIO_SILENCE_DBFS: 10.0 is outside -120-0"),
        ({"EDGE_AUDIO_NO_SIGNAL_SECONDS": "0"}, "EDGE_AUDIO_NO_SIGNAL_SECONDS"),
        ({"EDGE_AUDIO_FRAME_MS": "10"}, "EDGE_AUDIO_FRAME_MS: 10 is outside 20-100"),
        ({"EDGE_AUDIO_FRAME_MS": "50.5"}, "EDGE_AUDIO_FRAME_MS: '50.5' is not a number"),
        ({"EDGE_AUDIO_PING_TIMEOUT": "0"}, "EDGE_AUDIO_PING_TIMEOUT"),
        ({"EDGE_AUDIO_STALL_SECONDS": "100"}, "EDGE_AUDIO_STALL_SECONDS"),
    ],
)
def test_invalid_values_name_the_variable(changes: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({**BASE, **changes}, {}, {})


@pytest.mark.parametrize("missing", ["EDGE_AUDIO_SERVER", "EDGE_AUDIO_ROOM"])
def test_required(missing: str) -> None:
    values = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(SettingsError, match=f"{missing} is not set"):
        load_settings(values, {}, {})


def test_dataclass_checks_typed_values_too() -> None:
    with pytest.raises(SettingsError, match="EDGE_AUDIO_CHANNEL"):
        NodeSettings(server="http://x", room="r", channel=0)
    with pytest.raises(SettingsError, match="EDGE_AUDIO_FRAME_MS"):
        NodeSettings(server="http://x", room="r", frame_ms=True)  # type: ignore[arg-type]


def test_resend_seconds_setting() -> None:
    from edge_audio.settings import NodeSettings, SettingsError, load_settings

    base = {"EDGE_AUDIO_SERVER": "http://127.0.0.1:8080", "EDGE_AUDIO_ROOM": "main"}
    assert load_settings(base, {}, {}).resend_seconds == 10.0
    settings = load_settings(base | {"EDGE_AUDIO_RESEND_SECONDS": "2.5"}, {}, {})
    assert (settings.resend_seconds, settings.resend_bytes) == (2.5, 80000)
    assert load_settings(base | {"EDGE_AUDIO_RESEND_SECONDS": "0"}, {}, {}).resend_bytes == 0
    for bad in ("-1", "61", "soon"):
        with pytest.raises(SettingsError, match="EDGE_AUDIO_RESEND_SECONDS"):
            load_settings(base | {"EDGE_AUDIO_RESEND_SECONDS": bad}, {}, {})
    assert NodeSettings(server="http://h:1", room="main", resend_seconds=60).resend_seconds == 60

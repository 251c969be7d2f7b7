"""Settings from TOML, environment and flags; errors name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_server.core.settings import RoomSettings, ServerSettings, SettingsError, load_settings
from edge_server.core.subscribe_params import InvalidParameter, parse_subscribe_params


def test_defaults() -> None:
    settings = load_settings(env={})
    assert settings == ServerSettings()
    assert settings.room("anything") == RoomSettings()


def test_toml_env_and_overrides_in_priority_order(tmp_path: Path) -> None:
    config = tmp_path / "edge-server.toml"
    config.write_text(
        """
port = 9000
host = "0.0.0.0"
fsync = false

[default_room]
targets = ["it"]

[rooms.aula]
source_lang = "it-IT"
targets = ["en", "de"]
"""
    )
    settings = load_settings(
        config_file=config,
        env={"EDGE_SERVER_PORT": "9100", "EDGE_SERVER_TARGETS": "fr,es"},
        overrides={"port": 9200, "host": None},
    )
    assert settings.port == 9200
    assert settings.host == "0.0.0.0"
    assert settings.fsync is False
    assert settings.default_room.targets == ("fr", "es")
    assert settings.room("aula") == RoomSettings(source_lang="it-IT", targets=("en", "de"))
    assert settings.room("other").targets == ("fr", "es")


@pytest.mark.parametrize(
    ("toml", "env", "match"),
    [
        ("port = 70000", {}, "port 70000"),
        ("colour = 'red'", {}, "unknown setting"),
        ("[rooms.Bad]\n", {}, "invalid room name"),
        ("[rooms.a]\nsource_lang = 'english'\n", {}, "invalid language code"),
        ("[rooms.a]\nengine = 'whisper'\n", {}, "engine 'whisper' is not one of"),
        ("[rooms.a]\ntranslator = 'deepl'\n", {}, "translator 'deepl' is not one of"),
        ("[rooms.a]\nstability = 'rock'\n", {}, "stability"),
        ("[rooms.a]\nlanguages = ['it-IT']\nengine='transcribe'\n", {}, "two or more"),
        ("[rooms.a]\nlanguages = ['it-IT', 'en-US']\n", {}, "needs engine transcribe"),
        ("[rooms.a]\nvoices = ['Bianca']\n", {}, "voices must be a table"),
        ("[rooms.a]\nvoices = {italian = 'Bianca'}\n", {}, "invalid language code"),
        ("[rooms.a]\nfallback_grace_s = -1\n", {}, "fallback_grace_s"),
        ("[rooms.a]\nvoice_fallback_grace_s = 4000\n", {}, "voice_fallback_grace_s must be"),
        ("", {"EDGE_SERVER_VOICE_FALLBACK_GRACE_S": "soon"}, "voice_fallback_grace_s must be a"),
        ("[rooms.a]\nvoice = 'x'\n", {}, "unknown setting"),
        ("[rooms.a]\ntargets = 3\n", {}, "targets must be a list"),
        ("max_frame_bytes = 641", {}, "max_frame_bytes"),
        ("", {"EDGE_SERVER_FSYNC": "maybe"}, "fsync must be true or false"),
        ("", {"EDGE_SERVER_PORT": "eighty"}, "port must be int"),
        ("port = ", {}, "cannot read config file"),
        ("port = inf", {}, "port must be int, not inf"),  # found by the fuzz suite
        ("offline_search = 'turbo'", {}, "offline_search 'turbo' is not one of"),
    ],
)
def test_errors_name_the_setting(
    tmp_path: Path, toml: str, env: dict[str, str], match: str
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(toml)
    with pytest.raises(SettingsError, match=match):
        load_settings(config_file=config, env=env)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read config file"):
        load_settings(config_file=tmp_path / "nope.toml", env={})


@pytest.mark.parametrize(
    ("query", "backlog", "partials"),
    [
        ({}, 50, True),
        ({"backlog": "0"}, 0, True),
        ({"backlog": "500", "partials": "0"}, 500, False),
        ({"partials": "true"}, 50, True),
        ({"partials": "off", "other": "x"}, 50, False),
    ],
)
def test_subscribe_params(query: dict[str, str], backlog: int, partials: bool) -> None:
    params = parse_subscribe_params(query, backlog_default=50, backlog_max=500)
    assert (params.backlog, params.partials) == (backlog, partials)


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ({"backlog": "-1"}, "backlog"),
        ({"backlog": "501"}, "backlog"),
        ({"backlog": "1e3"}, "backlog"),
        ({"backlog": "9" * 20}, "backlog"),
        ({"partials": "maybe"}, "partials"),
    ],
)
def test_bad_subscribe_params(query: dict[str, str], name: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        parse_subscribe_params(query, backlog_default=50, backlog_max=500)
    assert info.value.name == name


def test_cloud_room_settings(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        """
aws_region = "eu-south-1"

[rooms.aula]
engine = "transcribe"
source_lang = "it-IT"
languages = ["it-IT", "en-US"]
targets = ["en", "de"]
translator = "amazon-translate"
terminology = ["conference-names"]
synthesizer = "polly"
voices = {en = "Joanna", de = "Vicki"}
vocabulary = "speakers-2026"
fallback_grace_s = 5
"""
    )
    settings = load_settings(config_file=config, env={"EDGE_SERVER_FALLBACK": "false"})
    aula = settings.room("aula")
    assert settings.aws_region == "eu-south-1"
    assert aula.identifies_language
    assert aula.languages == ("it-IT", "en-US")
    assert aula.terminology == ("conference-names",)
    assert aula.voices == {"en": "Joanna", "de": "Vicki"}
    assert aula.fallback is False  # the environment's default reaches every room
    assert aula.fallback_grace_s == 5
    assert not settings.room("other").identifies_language
    assert aula.voice_fallback_grace_s == 5.0  # the default


def test_voice_fallback_grace_from_the_environment_and_per_room(tmp_path: Path) -> None:
    config = tmp_path / "edge-server.toml"
    config.write_text("[rooms.aula]\nsynthesizer = 'polly'\nvoice_fallback_grace_s = 1.5\n")
    settings = load_settings(config, env={"EDGE_SERVER_VOICE_FALLBACK_GRACE_S": "8"})
    assert settings.room("aula").voice_fallback_grace_s == 1.5  # the room's own wins
    assert settings.room("other").voice_fallback_grace_s == 8.0


def test_storage_settings_from_env_and_their_bounds() -> None:
    settings = load_settings(env={"EDGE_SERVER_UNSAVED_MAX": "100", "EDGE_SERVER_MIN_FREE_MB": "0"})
    assert (settings.unsaved_max, settings.min_free_mb) == (100, 0)
    defaults = load_settings(env={})
    assert (defaults.unsaved_max, defaults.min_free_mb) == (5000, 256)
    for env, message in (
        ({"EDGE_SERVER_UNSAVED_MAX": "0"}, "unsaved_max must be within 1-1000000"),
        ({"EDGE_SERVER_MIN_FREE_MB": "-1"}, "min_free_mb must be within 0-1000000"),
        ({"EDGE_SERVER_UNSAVED_MAX": "many"}, "unsaved_max"),
    ):
        with pytest.raises(SettingsError, match=message):
            load_settings(env=env)

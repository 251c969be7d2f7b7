"""Property-based fuzzing (hypothesis) of every parser of untrusted input: whatever arrives,
each raises only its documented error (a refusal with a code and a message), never anything
else, and what it accepts obeys the rules. Parsers: the audio uplink protocol (text and
binary messages, in any order), caption subscription parameters and ``listen`` messages,
room names and language codes, role tokens, ``Authorization``/``?token=`` and ``Origin``, the
attempt limiter, live settings changes, the server configuration (TOML file and
``EDGE_SERVER_*`` variables), and the client's parser of server messages.

Runs are derandomized (the same examples on every run, so CI cannot flake); set
``HYPOTHESIS_EXPLORE=1`` to search with fresh random examples.
"""

# Property tests check what the refusal says (PT017) and several facts at once (PT018).
# ruff: noqa: PT017, PT018

from __future__ import annotations

import json
import math
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from edge_server.contract.names import InvalidName, validate_language, validate_room_name
from edge_server.contract.server_replies import ServerMessageError, parse_server_message
from edge_server.contract.uplink import CLOSE_CODES, ErrorCode, build_hello
from edge_server.contract.uplink_server import (
    AudioReceived,
    AudioUplinkProtocol,
    EndReceived,
    GapReceived,
    HelloReceived,
    LevelReceived,
    Refused,
    UplinkState,
)
from edge_server.core.auth import (
    AttemptLimiter,
    Refusal,
    Role,
    TokenError,
    Tokens,
    check_token,
    origin_allowed,
    presented_token,
)
from edge_server.core.live_settings import parse_live_change
from edge_server.core.settings import SettingsError, load_settings
from edge_server.core.subscribe_params import (
    InvalidParameter,
    listen_from_query,
    parse_listen_message,
    parse_subscribe_params,
)

pytestmark = pytest.mark.faults

FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,
    derandomize=not os.environ.get("HYPOTHESIS_EXPLORE"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
HELLO_KEYS = ["type", "format", "sample_rate", "channels", "language", "client", "device"]
hello_like = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["hello", "end", "level", "gap", "HELLO"]) | json_scalars,
        "format": st.sampled_from(["s16le", "f32le"]) | json_scalars,
        "sample_rate": st.sampled_from([16000, 16000.0, 44100, True]) | json_scalars,
        "channels": st.sampled_from([1, 2, True, 1.0]) | json_scalars,
        "language": st.sampled_from(["en-US", "it", "xx-YY", "", "en_US"]) | json_values,
        "client": st.fixed_dictionaries(
            {}, optional={"name": json_scalars, "version": json_scalars}
        )
        | json_values,
        "device": st.text(max_size=200) | json_scalars,
        "rms_dbfs": json_scalars,
        "peak_dbfs": json_scalars,
        "clipping": json_scalars,
        "silent_s": json_scalars,
        "no_signal": json_scalars,
        "dropped_s": json_scalars,
        "offline_s": json_scalars,
    },
)
text_messages = (
    hello_like.map(lambda d: json.dumps(d, allow_nan=True))
    | json_values.map(lambda v: json.dumps(v, allow_nan=True))
    | st.text(max_size=200)
    | st.integers(1, 40000).map(lambda n: "[" * n + "]" * n)
    | st.just(build_hello("en-US", "fuzz", "0"))
)
binary_messages = st.binary(max_size=7000) | st.integers(0, 7000).map(lambda n: b"\0" * n)
messages = st.lists(
    st.tuples(st.just("text"), text_messages) | st.tuples(st.just("binary"), binary_messages),
    max_size=8,
)
EVENTS = (HelloReceived, AudioReceived, EndReceived, LevelReceived, GapReceived, Refused)


def check_refusal(event: Refused) -> None:
    error = event.error
    assert isinstance(error.code, ErrorCode)
    assert error.message
    message = error.to_message()
    assert message == {"type": "error", "code": str(error.code), "message": error.message}
    json.dumps(message)
    assert len(error.close_reason().encode()) <= 123
    if error.fatal:
        assert error.close_code == CLOSE_CODES[error.code]
        assert 1000 <= error.close_code <= 4999


@FUZZ
@given(messages, st.integers(640, 32000).map(lambda n: n - n % 2))
@example([("text", "[" * 30000 + "]" * 30000)], 6400)  # deeper than json can recurse
@example([("text", build_hello("en-US", "x", "0")), ("text", "{" * 3000)], 6400)
def test_audio_uplink_protocol_only_refuses_with_a_code(
    sequence: list[tuple[str, Any]], max_frame_bytes: int
) -> None:
    proto = AudioUplinkProtocol(max_frame_bytes)
    for kind, data in sequence:
        before = proto.state
        events = proto.receive_text(data) if kind == "text" else proto.receive_binary(data)
        assert isinstance(events, list)
        if before is UplinkState.CLOSED:
            assert events == []
        for event in events:
            assert isinstance(event, EVENTS)
            if isinstance(event, Refused):
                check_refusal(event)
                if event.error.fatal:
                    assert proto.state is UplinkState.CLOSED
            elif isinstance(event, AudioReceived):
                assert 2 <= len(event.pcm) <= max_frame_bytes and len(event.pcm) % 2 == 0
                assert before is UplinkState.STREAMING
            elif isinstance(event, HelloReceived):
                assert before is UplinkState.AWAIT_HELLO
                hello = event.hello
                assert len(hello.client_name) <= 64 and len(hello.device) <= 128
                if hello.language is not None:
                    validate_language(hello.language)
            elif isinstance(event, LevelReceived):
                level = event.level
                assert -200 <= level.rms_dbfs <= 10 and -200 <= level.peak_dbfs <= 10
                assert not math.isnan(level.silent_s)
            elif isinstance(event, GapReceived):
                assert 0 <= event.dropped_s <= 86400 and 0 <= event.offline_s <= 1e7


@FUZZ
@given(text_messages | st.binary(max_size=300))
def test_client_parser_of_server_messages(text: str | bytes) -> None:
    try:
        message = parse_server_message(text)
    except ServerMessageError as exc:
        assert str(exc)
    else:
        assert isinstance(message, dict) and isinstance(message["type"], str)


query = st.dictionaries(
    st.sampled_from(["backlog", "partials", "lang", "audio", "token", "x"]) | st.text(max_size=8),
    st.text(max_size=12) | st.integers(-5, 10**8).map(str) | st.sampled_from(["١٢", "²", "0x10"]),
    max_size=5,
)


@FUZZ
@given(query, st.integers(0, 500), st.integers(0, 10000))
@example({"backlog": "²"}, 50, 500)  # str.isdigit() is true for superscripts; int() is not
@example({"backlog": "١٢"}, 50, 500)  # Arabic-Indic digits: isdigit() and int() both accept
def test_subscription_parameters(q: dict[str, str], default: int, maximum: int) -> None:
    default = min(default, maximum)
    try:
        params = parse_subscribe_params(q, backlog_default=default, backlog_max=maximum)
    except InvalidParameter as exc:
        assert exc.name in q
    else:
        assert 0 <= params.backlog <= maximum
        assert isinstance(params.partials, bool)
    try:
        listen = listen_from_query(q)
    except InvalidParameter as exc:
        assert exc.name in ("lang", "audio")
    else:
        if listen is not None and listen.lang is not None:
            validate_language(listen.lang)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["type", "lang", "audio"]) | st.text(max_size=5), json_values, max_size=4
    )
)
@example({"type": "listen", "lang": "it", "audio": 1})
def test_listen_messages(message: dict[str, Any]) -> None:
    try:
        request = parse_listen_message(message)
    except InvalidParameter as exc:
        assert exc.name in ("lang", "audio")
    else:
        assert isinstance(request.audio, bool)
        assert request.lang is None or validate_language(request.lang) == request.lang


@FUZZ
@given(st.text(max_size=40) | st.from_regex(r"[a-z0-9][a-z0-9_-]{0,34}", fullmatch=True))
@example("main\n")  # a regex "$" would accept the newline; fullmatch must not
def test_room_names(name: str) -> None:
    try:
        assert validate_room_name(name) == name
    except InvalidName as exc:
        assert "invalid room name" in str(exc) and len(str(exc)) < 200
    else:
        assert 1 <= len(name) <= 32 and name.isascii() and "/" not in name and "\n" not in name
        assert name[0] not in "-_" and name == name.lower()


@FUZZ
@given(
    st.text(max_size=12) | st.from_regex(r"[a-z]{2,3}(-[A-Z]{2})?", fullmatch=True) | json_scalars
)
@example("en-US\n")
def test_language_codes(code: Any) -> None:
    try:
        assert validate_language(code) == code
    except InvalidName as exc:
        assert "invalid language code" in str(exc) and len(str(exc)) < 200
    else:
        assert isinstance(code, str) and code.isascii() and 2 <= len(code) <= 7


tokens = st.text(max_size=40) | st.text(alphabet="abcdefghij0123456789", min_size=16, max_size=40)


@FUZZ
@given(tokens, tokens, tokens, st.none() | st.text(max_size=600), st.sets(st.sampled_from(Role)))
def test_role_tokens_and_presented_tokens(
    audio: str, listener: str, admin: str, presented: str | None, roles: set[Role]
) -> None:
    try:
        configured = Tokens(audio=audio, listener=listener, admin=admin)
    except TokenError as exc:
        assert str(exc)
        return
    assert audio not in repr(configured) or not audio
    refusal = check_token(configured, roles, presented)
    assert refusal in (None, Refusal.TOKEN_MISSING, Refusal.TOKEN_WRONG)
    if refusal is None and roles and all(configured.of(r) for r in roles):
        assert presented in {configured.of(r) for r in roles}


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["Authorization", "Origin", "X"]),
        st.text(max_size=60) | st.text(max_size=30).map(lambda t: f"Bearer {t}"),
        max_size=3,
    ),
    query,
)
def test_presented_token(headers: dict[str, str], q: dict[str, str]) -> None:
    token = presented_token(headers, q)
    assert token is None or (isinstance(token, str) and token)


origins = (
    st.none()
    | st.text(max_size=40)
    | st.builds(
        lambda scheme, host, port: f"{scheme}://{host}{port}",
        st.sampled_from(["http", "https", "HTTP", "ftp", "", "javascript"]),
        st.sampled_from(["127.0.0.1", "localhost", "[::1]", "[", "a b", "x" * 300, ""]),
        st.sampled_from(["", ":8080", ":0", ":99999", ":-1", ":x", ":"]),
    )
)


@FUZZ
@given(
    origins,
    st.none() | st.text(max_size=30) | st.just("127.0.0.1:8080"),
    st.sampled_from(["http", "https", "ws", ""]),
    st.lists(origins.filter(bool), max_size=3),
)
@example("null", "127.0.0.1:8080", "http", [])
@example("http://127.0.0.1:8080", "127.0.0.1:8080", "http", [])
def test_origin_checks(
    origin: str | None, host: str | None, scheme: str, allowed: list[str]
) -> None:
    verdict = origin_allowed(origin, host, scheme, allowed)
    assert isinstance(verdict, bool)
    if origin is None:
        assert verdict
    if origin == "null":
        assert not verdict
    if origin == "http://127.0.0.1:8080" and host == "127.0.0.1:8080" and scheme == "http":
        assert verdict


@FUZZ
@given(
    st.integers(1, 100),
    st.floats(0.01, 100),
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.floats(0, 5), st.booleans()),
        max_size=60,
    ),
)
def test_attempt_limiter(burst: int, rate: float, steps: list[tuple[str, float, bool]]) -> None:
    limiter = AttemptLimiter(burst, rate, max_addresses=3)
    now = 0.0
    allowed: dict[str, int] = {}
    for address, advance, wrong in steps:
        now += advance
        wait = limiter.attempt(address, now)
        assert wait >= 0 and math.isfinite(wait)
        assert limiter.retry_after(wait) >= 1
        if wait == 0:
            allowed[address] = allowed.get(address, 0) + 1
        if wrong:
            limiter.failed(address, now)
    assert len(limiter._buckets) <= 3
    if now == 0.0:  # no time passed: nobody got more than the burst
        assert all(n <= burst for n in allowed.values())


@FUZZ
@given(
    json_values
    | st.dictionaries(
        st.sampled_from(["source_lang", "languages", "targets"]),
        json_values | st.lists(st.text(max_size=6), max_size=12),
        max_size=3,
    )
)
@example({"targets": ["it", " de "], "source_lang": "it-IT"})
def test_live_settings_changes(body: Any) -> None:
    try:
        change = parse_live_change(body)
    except SettingsError as exc:
        assert str(exc)
    else:
        for code in [
            change.source_lang or "en",
            *(change.languages or ()),
            *(change.targets or ()),
        ]:
            validate_language(code)


# --- configuration -------------------------------------------------------------------------------


def toml_value(value: Any) -> str:
    """A TOML literal (inline) for a value built by the strategies below."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string (for BMP text)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


SCALAR_KEYS = [
    "host",
    "port",
    "state_dir",
    "max_frame_bytes",
    "backlog_default",
    "backlog_max",
    "subscriber_queue",
    "fsync",
    "audio_idle_s",
    "max_utterance_s",
    "aws_region",
    "transcribe_rotate_s",
    "translate_timeout_s",
    "connect_burst",
    "connect_rate",
    "allowed_origins",
    "public_url",
    "unknown_key",
]
ROOM_KEYS = [
    "source_lang",
    "languages",
    "targets",
    "engine",
    "fallback",
    "fallback_grace_s",
    "stability",
    "translator",
    "synthesizer",
    "voices",
    "terminology",
    "bogus",
]
toml_scalars = (
    st.booleans()
    | st.integers(-10, 70000)
    | st.floats(allow_nan=True)
    | st.sampled_from(
        [
            "en-US",
            "it",
            "pocketsphinx",
            "transcribe",
            "espeak",
            "8080",
            "",
            "x",
            "http://a.example",
            "1.5",
            "true",
        ]
    )
    | st.text(alphabet=st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"]), max_size=10)
)
toml_values = toml_scalars | st.lists(toml_scalars, max_size=3)
room_tables = st.dictionaries(
    st.sampled_from(ROOM_KEYS),
    toml_values | st.dictionaries(st.sampled_from(["it", "de", "x y"]), toml_scalars, max_size=2),
    max_size=4,
)


@FUZZ
@given(
    st.dictionaries(st.sampled_from(SCALAR_KEYS), toml_values, max_size=4),
    room_tables,
    st.dictionaries(
        st.sampled_from(["main", "aula-magna", "Bad Name", "x" * 40]),
        room_tables,
        max_size=2,
    ),
)
def test_configuration_file(
    tmp_path_factory: pytest.TempPathFactory,
    top: dict[str, Any],
    default_room: dict[str, Any],
    rooms: dict[str, Any],
) -> None:
    lines = [f"{key} = {toml_value(value)}" for key, value in top.items()]
    lines.append("[default_room]")
    lines += [f"{key} = {toml_value(value)}" for key, value in default_room.items()]
    for name, room in rooms.items():
        lines.append(f"[rooms.{json.dumps(name)}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in room.items()]
    text = "\n".join(lines) + "\n"
    tomllib.loads(text)  # the generator itself writes valid TOML
    path = tmp_path_factory.mktemp("config") / "edge-server.toml"
    path.write_text(text)
    try:
        loaded = load_settings(path, env={})
    except SettingsError as exc:
        assert str(exc)
    else:
        assert 1 <= loaded.port <= 65535
        for name in loaded.rooms:
            validate_room_name(name)


@FUZZ
@given(st.text(max_size=200))
def test_configuration_file_of_any_text(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    path = tmp_path_factory.mktemp("config") / "any.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_settings(path, env={})
    except SettingsError as exc:
        assert str(exc)


ENV_KEYS = [f"EDGE_SERVER_{k.upper()}" for k in SCALAR_KEYS[:-1]] + [
    "EDGE_SERVER_SOURCE_LANG",
    "EDGE_SERVER_LANGUAGES",
    "EDGE_SERVER_TARGETS",
    "EDGE_SERVER_ENGINE",
    "EDGE_SERVER_FALLBACK",
    "EDGE_SERVER_TRANSLATOR",
    "EDGE_SERVER_SYNTHESIZER",
    "EDGE_SERVER_AUDIO_TOKEN",
    "EDGE_SERVER_LISTENER_TOKEN",
    "EDGE_SERVER_ADMIN_TOKEN",
]


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(ENV_KEYS),
        st.text(max_size=30)
        | st.sampled_from(["1", "0", "nan", "1e400", "en-US,it", "a" * 20, " 8080 ", "-1"]),
        max_size=5,
    )
)
def test_configuration_environment(env: dict[str, str]) -> None:
    try:
        loaded = load_settings(None, env=env)
    except SettingsError as exc:
        assert str(exc)
    else:
        assert 1 <= loaded.port <= 65535
        loaded.tokens  # noqa: B018 - valid once loaded


@pytest.mark.parametrize(
    "content",
    [
        b"default_room = 5\n",
        b"[rooms]\naula = 5\n",
        b"[default_room]\nfallback_grace_s = [1]\n",
        b"\xff\xfeport = 8080\n",
    ],
    ids=["default_room not a table", "a room not a table", "fallback_grace_s a list", "not UTF-8"],
)
def test_configuration_shapes_that_crashed_are_clear_errors(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "edge-server.toml"
    path.write_bytes(content)
    with pytest.raises(SettingsError):
        load_settings(path, env={})

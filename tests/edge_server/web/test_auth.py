"""Role tokens, Origin checks and connection-attempt limits: the pure rules, then every rule
against a real server (WebSocket close codes, HTTP statuses)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

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
from edge_server.core.settings import SettingsError, load_settings
from edge_server.web.app_keys import ROOMS
from tests.helpers.live_server import LiveServer, LiveServers, make_settings
from tests.helpers.wire import HELLO, recv_json, wait_closed

AUDIO = "audio-secret-0123456789"
LISTEN = "listen-secret-0123456789"
ADMIN = "admin-secret-0123456789"
TOKENS = Tokens(audio=AUDIO, listener=LISTEN, admin=ADMIN)
READ = (Role.LISTENER, Role.ADMIN)


# --- pure rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tokens", "roles", "presented", "expected"),
    [
        (TOKENS, (Role.AUDIO,), AUDIO, None),  # right token
        (TOKENS, (Role.AUDIO,), AUDIO + "x", Refusal.TOKEN_WRONG),  # wrong token
        (TOKENS, (Role.AUDIO,), LISTEN, Refusal.TOKEN_WRONG),  # token of another role
        (TOKENS, (Role.AUDIO,), None, Refusal.TOKEN_MISSING),  # missing
        (TOKENS, (Role.AUDIO,), "", Refusal.TOKEN_MISSING),
        (TOKENS, READ, LISTEN, None),
        (TOKENS, READ, ADMIN, None),  # the admin may read too
        (TOKENS, READ, AUDIO, Refusal.TOKEN_WRONG),  # the audio node may not
        (TOKENS, (Role.ADMIN,), LISTEN, Refusal.TOKEN_WRONG),  # a listener is no admin
        (TOKENS, (Role.ADMIN,), "x" * 10_000, Refusal.TOKEN_WRONG),  # oversized
        (Tokens(), (Role.AUDIO,), None, None),  # no tokens configured: open
        (Tokens(), READ, "anything", None),
        (Tokens(admin=ADMIN), READ, None, None),  # listener open, admin set: reading is open
        (Tokens(admin=ADMIN), (Role.ADMIN,), None, Refusal.TOKEN_MISSING),
        (Tokens(listener=LISTEN), (Role.AUDIO,), None, None),  # independent of each other
        (Tokens(listener=LISTEN), READ, None, Refusal.TOKEN_MISSING),  # no admin token: still
        (Tokens(listener=LISTEN), READ, "x" * 20, Refusal.TOKEN_WRONG),  # reading needs one
        (Tokens(listener=LISTEN), READ, LISTEN, None),
    ],
)
def test_token_rules(
    tokens: Tokens, roles: tuple[Role, ...], presented: str | None, expected: Refusal | None
) -> None:
    assert check_token(tokens, roles, presented) is expected


@pytest.mark.parametrize(
    ("headers", "query", "expected"),
    [
        ({"Authorization": "Bearer abc"}, {}, "abc"),
        ({"Authorization": "bearer  abc "}, {"token": "q"}, "abc"),  # header wins
        ({"Authorization": "Basic abc"}, {"token": "q"}, "q"),
        ({}, {"token": "q"}, "q"),
        ({}, {"token": ""}, None),
        ({}, {}, None),
    ],
)
def test_presented_token(
    headers: dict[str, str], query: dict[str, str], expected: str | None
) -> None:
    assert presented_token(headers, query) == expected


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        ({"audio": "short"}, "characters"),
        ({"audio": "has a space in it 12345"}, "spaces"),
        ({"audio": AUDIO, "admin": AUDIO}, "same"),
    ],
)
def test_unusable_tokens_are_refused_at_start(tokens: dict[str, str], message: str) -> None:
    with pytest.raises(TokenError, match=message):
        Tokens(**tokens)


def test_tokens_never_appear_in_repr() -> None:
    settings = make_settings(Path("/tmp/x"), audio_token=AUDIO, admin_token=ADMIN)
    assert AUDIO not in repr(settings)
    assert ADMIN not in repr(settings)
    assert AUDIO not in repr(settings.tokens)


def test_tokens_from_environment_and_credentials(tmp_path: Path) -> None:
    (tmp_path / "listener-token").write_text(LISTEN + "\n")
    (tmp_path / "admin-token").write_text(ADMIN)
    env = {
        "CREDENTIALS_DIRECTORY": str(tmp_path),
        "EDGE_SERVER_ADMIN_TOKEN": "env-admin-token-0001",
    }
    settings = load_settings(env=env)
    assert settings.listener_token == LISTEN  # from the credential file, newline stripped
    assert settings.admin_token == "env-admin-token-0001"  # the environment wins
    assert settings.audio_token == ""  # no file: open


def test_tokens_are_not_accepted_in_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'audio_token = "{AUDIO}"\n')
    with pytest.raises(SettingsError, match="cannot be set in the config file"):
        load_settings(config_file=config, env={})


@pytest.mark.parametrize(
    ("origin", "host", "allowed", "expected"),
    [
        (None, "10.0.0.5:8080", (), True),  # not a browser
        ("http://10.0.0.5:8080", "10.0.0.5:8080", (), True),  # same origin
        ("http://10.0.0.5", "10.0.0.5:80", (), True),  # default port
        ("http://evil.example", "10.0.0.5:8080", (), False),
        ("http://10.0.0.5:9999", "10.0.0.5:8080", (), False),  # other port
        ("https://10.0.0.5:8080", "10.0.0.5:8080", (), False),  # other scheme
        ("null", "10.0.0.5:8080", (), False),
        ("http://[::1", "10.0.0.5:8080", (), False),  # malformed
        ("https://captions.example.org", "10.0.0.5:8080", ("https://captions.example.org",), True),
    ],
)
def test_origin_rules(
    origin: str | None, host: str, allowed: tuple[str, ...], expected: bool
) -> None:
    assert origin_allowed(origin, host, "http", allowed) is expected


def test_attempt_limiter_bucket() -> None:
    limiter = AttemptLimiter(burst=3, rate=1.0)
    assert [limiter.attempt("a", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.attempt("a", 0.0) == pytest.approx(1.0)  # empty: wait a second
    assert limiter.attempt("b", 0.0) == 0.0  # other addresses are not affected
    assert limiter.attempt("a", 1.0) == 0.0  # refilled
    limiter.failed("b", 1.0)  # a wrong token costs five attempts
    assert limiter.attempt("b", 1.0) > 0.0


def test_attempt_limiter_forgets_old_addresses() -> None:
    limiter = AttemptLimiter(burst=1, rate=0.001, max_addresses=2)
    for address in ("a", "b", "c"):
        limiter.attempt(address, 0.0)
    assert limiter.attempt("a", 0.0) == 0.0  # "a" was forgotten: a fresh bucket


# --- against a real server --------------------------------------------------------------------


@pytest.fixture
async def guarded(tmp_path: Path, live_server: LiveServers) -> LiveServer:
    settings = make_settings(
        tmp_path / "state",
        audio_token=AUDIO,
        listener_token=LISTEN,
        admin_token=ADMIN,
        connect_burst=1000,
    )
    return await live_server(settings)


async def _captions_close(url: str, **kwargs: Any) -> tuple[int | None, str]:
    ws = await connect(url, open_timeout=10, **kwargs)
    return await wait_closed(ws)


@pytest.mark.parametrize(
    ("query", "headers", "code", "reason"),
    [
        ("", None, 4010, "token_missing"),
        (f"?token={LISTEN}x", None, 4011, "token_wrong"),
        (f"?token={AUDIO}", None, 4011, "token_wrong"),  # the audio node's token
        ("", {"Authorization": "Bearer nope-nope-nope-nope"}, 4011, "token_wrong"),
    ],
)
async def test_captions_refusals_have_close_codes(
    guarded: LiveServer, query: str, headers: dict[str, str] | None, code: int, reason: str
) -> None:
    close = await _captions_close(
        f"{guarded.ws}/ws/captions/main{query}", additional_headers=headers
    )
    assert close[0] == code
    assert close[1].startswith(reason)
    assert LISTEN not in close[1]  # a refusal never echoes a secret


@pytest.mark.parametrize("token", [LISTEN, ADMIN])
async def test_captions_accept_listener_and_admin(guarded: LiveServer, token: str) -> None:
    async with connect(f"{guarded.ws}/ws/captions/main?token={token}", open_timeout=10) as ws:
        assert (await recv_json(ws))["type"] == "status"
    headers = {"Authorization": f"Bearer {token}"}
    async with connect(
        f"{guarded.ws}/ws/captions/main", open_timeout=10, additional_headers=headers
    ) as ws:
        assert (await recv_json(ws))["type"] == "status"


@pytest.mark.parametrize(
    ("headers", "code", "reason"),
    [
        (None, 4010, "token_missing"),
        ({"Authorization": f"Bearer {LISTEN}"}, 4011, "token_wrong"),
        ({"Authorization": f"Bearer {ADMIN}"}, 4011, "token_wrong"),  # admin may not stream
    ],
)
async def test_audio_refusals(
    guarded: LiveServer, headers: dict[str, str] | None, code: int, reason: str
) -> None:
    ws = await connect(f"{guarded.ws}/ws/audio/main", open_timeout=10, additional_headers=headers)
    error = await recv_json(ws)
    assert error["type"] == "error"
    assert error["code"] == reason
    close_code, close_reason = await wait_closed(ws)
    assert close_code == code
    assert close_reason.startswith(reason)
    assert guarded.app[ROOMS].get("main").source is None  # nothing was started


async def test_audio_with_its_token_streams(guarded: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {AUDIO}"}
    ws = await connect(f"{guarded.ws}/ws/audio/main", open_timeout=10, additional_headers=headers)
    await ws.send(json.dumps(HELLO))
    assert (await recv_json(ws))["type"] == "ready"
    await ws.send(json.dumps({"type": "end"}))
    assert (await recv_json(ws, 30))["type"] == "ended"
    await ws.close()


async def test_http_refusals(guarded: LiveServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{guarded.http}/rooms/main/transcript.txt") as r:
            assert r.status == 401
            assert (await r.json())["error"] == "token_missing"
            assert r.headers["WWW-Authenticate"] == "Bearer"
        async with http.get(f"{guarded.http}/rooms/main/transcript.txt?token={AUDIO}") as r:
            assert r.status == 403
        async with http.get(f"{guarded.http}/rooms/main/transcript.txt?token={LISTEN}") as r:
            assert r.status == 200
        async with http.get(
            f"{guarded.http}/api/status", headers={"Authorization": f"Bearer {LISTEN}"}
        ) as r:
            assert r.status == 403
        async with http.get(
            f"{guarded.http}/api/status", headers={"Authorization": f"Bearer {ADMIN}"}
        ) as r:
            assert r.status == 200
            body = await r.json()
            assert body["server"]["auth"] == {"audio": True, "listener": True, "admin": True}
        async with http.get(f"{guarded.http}/rooms/main/qr.svg") as r:
            assert r.status == 401
        # Pages carry no secrets: open.
        for page in ("/kiosk/main", "/listen/main", "/status", "/healthz"):
            async with http.get(f"{guarded.http}{page}") as r:
                assert r.status == 200, page


async def test_no_tokens_configured_everything_open(server: LiveServer) -> None:
    async with connect(f"{server.ws}/ws/captions/main", open_timeout=10) as ws:
        assert (await recv_json(ws))["type"] == "status"
    async with aiohttp.ClientSession() as http, http.get(f"{server.http}/api/status") as r:
        assert r.status == 200
        assert (await r.json())["server"]["auth"] == {
            "audio": False,
            "listener": False,
            "admin": False,
        }


async def test_foreign_origin_refused(guarded: LiveServer) -> None:
    url = f"{guarded.ws}/ws/captions/main?token={LISTEN}"
    code, reason = await _captions_close(url, origin="http://evil.example")  # type: ignore[arg-type]
    assert code == 4012
    assert reason.startswith("origin_refused")
    own = guarded.http
    async with connect(url, open_timeout=10, origin=own) as ws:  # type: ignore[arg-type]
        assert (await recv_json(ws))["type"] == "status"
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{guarded.http}/api/rooms/main/settings",
            json={"targets": []},
            headers={"Authorization": f"Bearer {ADMIN}", "Origin": "http://evil.example"},
        ) as r,
    ):
        assert r.status == 403
        assert (await r.json())["error"] == "origin_refused"


async def test_connection_attempt_limit(tmp_path: Path, live_server: LiveServers) -> None:
    """1,000 attempts in a burst from one address: the first `connect_burst` get through, the
    rest get HTTP 429 at once, and a subscriber already connected keeps receiving."""
    # A slow refill (one attempt per 20 s), so a busy machine cannot refill the bucket between
    # the burst and the last check.
    settings = make_settings(tmp_path / "state", connect_burst=20, connect_rate=0.05)
    live = await live_server(settings)
    async with connect(f"{live.ws}/ws/captions/main", open_timeout=10) as watcher:
        assert (await recv_json(watcher))["type"] == "status"
        statuses: list[int] = []
        async with aiohttp.ClientSession() as http:

            async def attempt() -> None:
                async with http.get(f"{live.http}/ws/captions/main") as r:
                    statuses.append(r.status)
                    if r.status == 429:
                        assert int(r.headers["Retry-After"]) >= 1
                        assert (await r.json())["error"] == "too_many_attempts"

            await asyncio.wait_for(asyncio.gather(*(attempt() for _ in range(1000))), 60)
        assert statuses.count(429) >= 1000 - 20 - 3
        assert statuses.count(429) > 900
        # The room still works for the connected subscriber.
        await watcher.send(json.dumps({"type": "ping"}))
        assert (await recv_json(watcher))["type"] == "pong"
    # And a WebSocket client over the limit is refused before the upgrade.
    with pytest.raises(InvalidStatus) as refused:
        await connect(f"{live.ws}/ws/captions/main", open_timeout=10)
    assert refused.value.response.status_code == 429

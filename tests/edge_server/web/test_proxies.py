"""Behind a trusted reverse proxy: clients are counted, logged and shown by their forwarded
address; the same headers from any other peer change nothing.

One real server on 127.0.0.1 trusts ``127.0.0.1`` (the "proxy"). Clients that connect from
127.0.0.2 (another loopback address, bound with ``local_addr``) are direct, untrusted peers.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from edge_server.core.settings import SettingsError, load_settings
from tests.helpers.live_server import LiveServer, LiveServers, make_settings
from tests.helpers.scripted_engine import ScriptedRecognizer
from tests.helpers.wire import HELLO

PROXY = "127.0.0.1"
DIRECT = "127.0.0.2"
CLIENTS = 200


@pytest.fixture
async def behind_proxy(tmp_path: Path, live_server: LiveServers) -> LiveServer:
    # The default burst (60, the figure the audience of a NAT or a proxy ran into), and a slow
    # refill so a busy machine cannot refill the bucket during the burst.
    settings = make_settings(
        tmp_path / "state", trusted_proxies=(PROXY,), connect_burst=60, connect_rate=0.05
    )
    recognizer = ScriptedRecognizer("scripted")
    return await live_server(settings, recognizer_factory=lambda name, r, s: recognizer)


def _client_address(n: int) -> str:
    return f"203.0.{113 + n // 250}.{1 + n % 250}"


async def _subscribe_all(
    live: LiveServer, source: str, headers_for: list[dict[str, str]]
) -> Counter[str]:
    """Open one captions WebSocket per header set at once from ``source``; count outcomes
    (``status`` received, or the HTTP status of a refusal)."""
    outcomes: Counter[str] = Counter()
    connector = aiohttp.TCPConnector(local_addr=(source, 0), limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        sockets: list[aiohttp.ClientWebSocketResponse] = []

        async def one(headers: dict[str, str]) -> None:
            try:
                ws = await http.ws_connect(f"{live.http}/ws/captions/main", headers=headers)
            except aiohttp.WSServerHandshakeError as exc:
                outcomes[f"http {exc.status}"] += 1
                return
            sockets.append(ws)
            first = await ws.receive_json(timeout=30)
            outcomes[first["type"]] += 1

        await asyncio.wait_for(asyncio.gather(*(one(h) for h in headers_for)), 120)
        for ws in sockets:
            await ws.close()
    return outcomes


async def test_200_clients_through_one_proxy_are_all_served(
    behind_proxy: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge_server")
    headers = [{"X-Forwarded-For": _client_address(n)} for n in range(CLIENTS)]
    outcomes = await _subscribe_all(behind_proxy, PROXY, headers)
    print(f"\nproxies: {CLIENTS} clients via {PROXY}, distinct X-Forwarded-For: {dict(outcomes)}")
    assert outcomes == Counter({"status": CLIENTS})
    # The log names the clients, not the proxy.
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert f"subscriber {_client_address(7)} of room main" in logged
    assert f"subscriber {PROXY} of room main" not in logged


async def test_the_same_headers_from_an_untrusted_peer_are_ignored(
    behind_proxy: LiveServer,
) -> None:
    headers = [{"X-Forwarded-For": _client_address(n)} for n in range(CLIENTS)]
    outcomes = await _subscribe_all(behind_proxy, DIRECT, headers)
    print(f"\nproxies: {CLIENTS} clients from untrusted {DIRECT}, same headers: {dict(outcomes)}")
    # Throttled as one address: the burst of 60 (plus at most a couple refilled), the rest 429.
    assert 60 <= outcomes["status"] <= 63
    assert outcomes["http 429"] == CLIENTS - outcomes["status"]


async def test_a_client_spoofing_the_header_through_the_proxy_is_still_itself(
    behind_proxy: LiveServer,
) -> None:
    """The proxy appends the real address; whatever the client put to its left is not read."""
    headers = [{"X-Forwarded-For": f"{_client_address(n)}, 198.51.100.1"} for n in range(100)]
    outcomes = await _subscribe_all(behind_proxy, PROXY, headers)
    assert 60 <= outcomes["status"] <= 63
    assert outcomes["http 429"] == 100 - outcomes["status"]


async def test_the_audio_source_is_shown_by_its_forwarded_address(behind_proxy: LiveServer) -> None:
    connector = aiohttp.TCPConnector(local_addr=(PROXY, 0))
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.ws_connect(
            f"{behind_proxy.http}/ws/audio/main", headers={"X-Forwarded-For": "192.0.2.44"}
        ) as ws,
    ):
        await ws.send_str(json.dumps(HELLO))
        assert (await ws.receive_json(timeout=20))["type"] == "ready"
        async with http.get(f"{behind_proxy.http}/healthz") as r:
            source = (await r.json())["rooms"]["main"]["source"]
        assert source["remote"] == "192.0.2.44"


async def test_scheme_and_host_from_the_proxy_satisfy_the_origin_check(
    behind_proxy: LiveServer,
) -> None:
    """A page served as https://captions.example through the proxy may use the server; the
    same Origin straight to the server (or from an untrusted peer) is foreign."""
    origin = "https://captions.example"
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "captions.example"}

    async def status(source: str, headers: dict[str, str]) -> int:
        connector = aiohttp.TCPConnector(local_addr=(source, 0))
        async with (
            aiohttp.ClientSession(connector=connector) as http,
            http.get(f"{behind_proxy.http}/api/status", headers=headers) as r,
        ):
            return r.status

    assert await status(PROXY, {"Origin": origin, **forwarded}) == 200
    assert await status(PROXY, {"Origin": origin}) == 403
    assert await status(DIRECT, {"Origin": origin, **forwarded}) == 403


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"EDGE_SERVER_TRUSTED_PROXIES": "127.0.0.1, nginx"}, "trusted_proxies: 'nginx' is not"),
        ({"EDGE_SERVER_TRUSTED_PROXIES": "10.0.0.1/8"}, "did you mean 10.0.0.0/8"),
        ({"EDGE_SERVER_PROXY_HEADER": "x-real-ip"}, "proxy_header 'x-real-ip' is not one of"),
    ],
)
def test_bad_proxy_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(env=env)


def test_proxy_settings_from_toml_and_environment(tmp_path: Path) -> None:
    config = tmp_path / "edge-server.toml"
    config.write_text('trusted_proxies = ["127.0.0.1", "fd00::/8"]\nproxy_header = "forwarded"\n')
    settings = load_settings(config_file=config, env={})
    assert settings.trusted_proxies == ("127.0.0.1", "fd00::/8")
    assert settings.proxy_header == "forwarded"
    from_env = load_settings(env={"EDGE_SERVER_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"})
    assert [str(n) for n in from_env.proxy_networks] == ["127.0.0.1/32", "10.0.0.0/8"]


async def test_forwarded_header_mode(tmp_path: Path, live_server: LiveServers) -> None:
    """With ``proxy_header = "forwarded"``: RFC 7239 elements name the clients (IPv6 here), and
    an ``X-Forwarded-For`` the proxy passed on from clients is not read."""
    settings = make_settings(
        tmp_path / "state",
        trusted_proxies=(PROXY,),
        proxy_header="forwarded",
        connect_burst=60,
        connect_rate=0.05,
    )
    live = await live_server(settings)
    rfc = [{"Forwarded": f'for="[2001:db8::{n:x}]:4711";proto=https'} for n in range(1, 101)]
    assert await _subscribe_all(live, PROXY, rfc) == Counter({"status": 100})
    spoofed = [{"X-Forwarded-For": _client_address(n)} for n in range(100)]
    outcomes = await _subscribe_all(live, PROXY, spoofed)
    assert 60 <= outcomes["status"] <= 63
    assert outcomes["http 429"] == 100 - outcomes["status"]

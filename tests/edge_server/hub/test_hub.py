"""The conference hub against a real redis-server: captions relayed in order to every client,
a Redis outage mid-talk (every final exactly once at the hub's clients, the room's own
captions never stalled), a hub killed mid-talk while its clients move to a second hub, the
overview (rooms, stale marks, "no rooms yet", the admin token), exports, metrics and
``edge-server follow`` against a hub."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from websockets.asyncio.client import connect

from edge_server.core.settings import RoomSettings
from tests.helpers.hub import CaptionsClient, HubProcess, LiveHub
from tests.helpers.live_server import LiveServer, LiveServers, make_settings
from tests.helpers.paths import ROOT
from tests.helpers.redis_server import RedisServer
from tests.helpers.scripted_engine import PrefixTranslator, ScriptedRecognizer, word_audio
from tests.helpers.waiting import wait_for_async, wait_until
from tests.helpers.wire import open_audio, recv_json

pytestmark = pytest.mark.timeout(180)


async def start_room(
    live_server: LiveServers, state: Path, redis: RedisServer, **kwargs: object
) -> LiveServer:
    settings = make_settings(
        state,
        replicate_to=redis.url,
        max_frame_bytes=16000,
        default_room=RoomSettings(targets=("it",)),
        **kwargs,
    )
    return await live_server(
        settings,
        recognizer_factory=lambda name, r, s: ScriptedRecognizer("scripted"),
        translator_factory=lambda name, r, s: PrefixTranslator(),
    )


@pytest.fixture
async def hubs(redis_server: RedisServer) -> AsyncIterator[list[LiveHub]]:
    """Hubs the test starts, stopped before its Redis."""
    started: list[LiveHub] = []
    yield started
    for hub in started:
        await hub.stop()


async def start_hub(
    hubs: list[LiveHub], tmp_path: Path, redis: RedisServer, **kwargs: object
) -> LiveHub:
    hub = await LiveHub(make_settings(tmp_path / "hub-unused", **kwargs), redis.url).start()
    hubs.append(hub)
    return hub


async def speak(ws, numbers: range, pause_s: float = 0.0) -> None:
    for n in numbers:
        await ws.send(word_audio(n))
        await ws.send(word_audio(0))
        if pause_s:
            await asyncio.sleep(pause_s)


async def get_json(url: str) -> dict:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def get_text(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, await resp.text()


def words(numbers: range) -> list[str]:
    return [f"w{n}" for n in numbers]


async def test_hub_clients_receive_every_final_in_order_and_pages_exports_follow_work(
    redis_server: RedisServer, tmp_path: Path, live_server: LiveServers, hubs: list[LiveHub]
) -> None:
    room = await start_room(live_server, tmp_path / "state", redis_server)
    audio, _ = await open_audio(room.ws, "main")
    await speak(audio, range(1, 2))  # the room exists in Redis before listeners come
    hub = await start_hub(hubs, tmp_path, redis_server)
    clients = [CaptionsClient([hub.http], "main") for _ in range(5)]
    for client in clients:
        client.start()
    for client in clients:
        await asyncio.wait_for(client.connected.wait(), 20)
    await speak(audio, range(2, 41), pause_s=0.05)
    await wait_until(
        lambda: all(len(c.received) >= 39 for c in clients), timeout=60, what="39 finals each"
    )
    for client in clients:
        assert client.texts() == words(range(2, 41))
        assert all(m["translations"] == {"it": f"it {m['text']}"} for m in client.received)
        assert client.duplicates == 0
        assert client.statuses[0]["room"] == "main"
        assert client.statuses[0]["languages"] == ["en-US", "it"]
        await client.stop()
    # a late client gets the backlog, as from the room server
    late = await connect(f"{hub.http.replace('http', 'ws')}/ws/captions/main?backlog=500")
    assert (await recv_json(late))["type"] == "status"
    backlog = [await recv_json(late) for _ in range(40)]
    assert [m["text"] for m in backlog] == words(range(1, 41))
    assert all(m["backlog"] for m in backlog)
    await late.send(json.dumps({"type": "listen", "lang": "it", "audio": True}))
    listening = await recv_json(late)
    assert listening == {
        "type": "listening", "lang": "it", "audio": False,
        "reason": "speech is not relayed by the hub: text only",
    }  # fmt: skip
    await late.send('{"type": "ping"}')
    assert await recv_json(late) == {"type": "pong"}
    await late.send("not json")
    assert (await recv_json(late))["code"] == "bad_message"
    await late.close()
    status, text = await get_text(f"{hub.http}/rooms/main/transcript.txt")
    assert status == 200
    assert all(w in text for w in words(range(1, 41)))
    status, text = await get_text(f"{hub.http}/rooms/main/transcript.txt?lang=it")
    assert "it w40" in text
    status, jsonl = await get_text(f"{hub.http}/rooms/main/transcript.jsonl")
    assert [json.loads(line)["text"] for line in jsonl.splitlines()] == words(range(1, 41))
    status, page = await get_text(f"{hub.http}/listen/main")
    assert status == 200
    assert "<html" in page.lower()
    async with aiohttp.ClientSession() as session:
        for path in ("/overlay/main", "/static/overlay-main.js", "/static/listener-main.js"):
            async with session.get(f"{hub.http}{path}") as resp:
                assert resp.status == 200, path
                assert resp.headers["Cache-Control"] == "no-cache", path  # new files after upgrades
    status, svg = await get_text(f"{hub.http}/rooms/main/qr.svg")
    assert status == 200
    assert "<svg" in svg
    status, metrics = await get_text(f"{hub.http}/metrics")
    assert 'edge_hub_finals_relayed_total{room="main"}' in metrics
    # `edge-server follow` against the hub, unchanged
    follow = spawn_follow(hub.http)
    try:
        out = await asyncio.wait_for(asyncio.to_thread(_read_until, follow, b"w40"), 60)
    finally:
        follow.kill()
        follow.wait(10)
    assert b"w36" in out
    assert b"w40" in out
    await audio.close()


def spawn_follow(server: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "edge_server.cli", "follow", "main"]
    command += ["--server", server, "--backlog", "5"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)


def _read_until(proc: subprocess.Popen[bytes], needle: bytes) -> bytes:
    assert proc.stdout is not None
    out = b""
    while needle not in out:
        line = proc.stdout.readline()
        if not line:
            break
        out += line
    return out


async def test_redis_stopped_20_s_mid_talk_every_final_once_and_the_room_never_stalls(
    redis_server: RedisServer, tmp_path: Path, live_server: LiveServers, hubs: list[LiveHub]
) -> None:
    room = await start_room(live_server, tmp_path / "state", redis_server)
    audio, _ = await open_audio(room.ws, "main")
    await speak(audio, range(1, 2))
    hub = await start_hub(hubs, tmp_path, redis_server)
    clients = [CaptionsClient([hub.http], "main", backlog=500) for _ in range(3)]
    for client in clients:
        client.start()
        await asyncio.wait_for(client.connected.wait(), 20)
    screen = await connect(f"{room.ws}/ws/captions/main?backlog=0")
    await recv_json(screen)
    latencies: list[tuple[str, float]] = []

    async def sentence(n: int, phase: str) -> None:
        await audio.send(word_audio(n))
        sent = time.monotonic()
        await audio.send(word_audio(0))
        while True:
            message = await recv_json(screen)
            if message.get("type") == "final" and message["text"] == f"w{n}":
                latencies.append((phase, time.monotonic() - sent))
                return

    n = 2
    for n in range(2, 12):
        await sentence(n, "before")
    redis_server.stop()
    outage_started = time.monotonic()
    n = 12
    while time.monotonic() - outage_started < 20:
        await sentence(n, "outage")
        n += 1
        await asyncio.sleep(0.3)
    redis_server.start()
    restarted = time.monotonic()
    last = n + 9
    for m in range(n, last + 1):
        await sentence(m, "after")
    await wait_until(
        lambda: all(len(c.received) >= last for c in clients), timeout=90,
        what=f"{last} finals at every hub client",
    )  # fmt: skip
    caught_up = time.monotonic() - restarted
    for client in clients:
        assert client.texts() == words(range(1, last + 1))
        assert client.duplicates == 0
    outage = [s for phase, s in latencies if phase == "outage"]
    before = [s for phase, s in latencies if phase == "before"]
    print(
        f"\nRedis stopped 20 s mid-talk: room caption latency during the outage: {len(outage)} "
        f"finals, max {max(outage) * 1000:.0f} ms, mean {sum(outage) / len(outage) * 1000:.0f} "
        f"ms (before: max {max(before) * 1000:.0f} ms); hub clients had all {last} finals "
        f"{caught_up:.1f} s after Redis came back (10 more sentences spoken meanwhile)"
    )
    assert max(outage) < 5.0  # generous: the room never waited on Redis
    for client in clients:
        await client.stop()
    await screen.close()
    await audio.close()


async def test_a_hub_killed_mid_talk_its_clients_move_to_another_and_miss_nothing(
    redis_server: RedisServer, tmp_path: Path, live_server: LiveServers, hubs: list[LiveHub]
) -> None:
    room = await start_room(live_server, tmp_path / "state", redis_server)
    audio, _ = await open_audio(room.ws, "main")
    await speak(audio, range(1, 2))
    first = await HubProcess(redis_server.url).start()
    second = await HubProcess(redis_server.url).start()
    try:
        clients = [CaptionsClient([first.http, second.http], "main") for _ in range(4)]
        for client in clients:
            client.start()
            await asyncio.wait_for(client.connected.wait(), 20)
        await speak(audio, range(2, 21), pause_s=0.1)
        first.kill()
        await speak(audio, range(21, 41), pause_s=0.1)
        await wait_until(
            lambda: all(len(c.received) >= 39 for c in clients), timeout=60,
            what="39 finals at every client",
        )  # fmt: skip
        for client in clients:
            assert client.texts() == words(range(2, 41))
            assert client.connections == 2
    finally:
        first.kill()
        second.kill()
    await audio.close()


async def test_a_hub_on_an_empty_redis_says_no_rooms_yet_and_refuses_unknown_rooms(
    redis_server: RedisServer, tmp_path: Path, hubs: list[LiveHub]
) -> None:
    hub = await start_hub(hubs, tmp_path, redis_server, admin_token="admin-secret-1234")
    status, _ = await get_text(f"{hub.http}/")
    assert status == 401
    await asyncio.sleep(0.5)
    status, page = await get_text(f"{hub.http}/?token=admin-secret-1234")
    assert status == 200
    assert "No rooms yet" in page
    overview = await get_json(f"{hub.http}/api/overview?token=admin-secret-1234")
    assert overview["rooms"] == []
    ws = await connect(f"{hub.http.replace('http', 'ws')}/ws/captions/nowhere")
    await asyncio.wait_for(ws.wait_closed(), 10)
    assert ws.close_code == 4004
    assert "unknown_room" in (ws.close_reason or "")


async def test_the_overview_shows_each_room_its_alarms_and_marks_a_silent_pi_stale(
    redis_server: RedisServer, tmp_path: Path, live_server: LiveServers, hubs: list[LiveHub]
) -> None:
    hall = await start_room(live_server, tmp_path / "hall", redis_server)
    await start_room(live_server, tmp_path / "annex", redis_server)
    audio, _ = await open_audio(hall.ws, "hall")
    await speak(audio, range(1, 4))
    # the annex room exists (a kiosk asked for it) but has no audio source
    annex_screen = await connect(
        f"{live_server.started[1].ws}/ws/captions/annex?backlog=0", open_timeout=10
    )
    await recv_json(annex_screen)
    hub = await start_hub(hubs, tmp_path, redis_server, hub_stale_s=4.0)

    async def rooms() -> dict[str, dict]:
        data = await get_json(f"{hub.http}/api/overview")
        return {r["room"]: r for r in data["rooms"]}

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        seen = await rooms()
        if seen.keys() == {"hall", "annex"} and seen["hall"]["finals"] == 3:
            break
        await asyncio.sleep(0.3)
    assert seen["hall"]["audio"] == "flowing"
    assert not seen["hall"]["stale"]
    assert seen["hall"]["engine"] == "scripted"
    assert any("no audio source" in a for a in seen["annex"]["alarms"])
    assert seen["annex"]["listeners_at_room"] == 1
    _status, page = await get_text(f"{hub.http}/")
    assert "hall" in page
    assert "annex" in page
    await audio.close()
    await annex_screen.close()
    await live_server.started[0].stop()  # the hall's Pi goes away

    async def hall_stale() -> bool:
        return bool((await rooms())["hall"]["stale"])

    await wait_for_async(hall_stale, timeout=30, what="the hall marked stale")
    seen = await rooms()
    assert seen["hall"]["stale"]
    assert "no status for" in seen["hall"]["alarms"][0]
    assert not seen["annex"]["stale"]

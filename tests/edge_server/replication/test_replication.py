"""A room server replicating to a real redis-server (started by the test, with a password):
every final in order with its translations, the room's status, catch-up after an outage
without duplicates, and bad addresses that never stop the captions."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import pytest
from redis.asyncio import Redis

from edge_server.core.replication import (
    ROOMS_KEY,
    entry_fields,
    record_of,
    status_key,
    stream_key,
)
from edge_server.core.settings import RoomSettings
from tests.helpers.live_server import LiveServer, LiveServers, make_settings
from tests.helpers.redis_server import RedisServer, free_port
from tests.helpers.scripted_engine import (
    PrefixTranslator,
    ScriptedRecognizer,
    captions_normally,
    word_audio,
)
from tests.helpers.tiny_disk import TinyDisk
from tests.helpers.waiting import wait_for_async
from tests.helpers.wire import open_audio, recv_json

pytestmark = pytest.mark.timeout(120)


async def start_room(
    live_server: LiveServers, state: Path, replicate_to: str, **kwargs: object
) -> LiveServer:
    settings = make_settings(
        state,
        replicate_to=replicate_to,
        max_frame_bytes=16000,
        default_room=RoomSettings(targets=("it",), translator="none"),
        **kwargs,
    )
    return await live_server(
        settings,
        recognizer_factory=lambda name, r, s: ScriptedRecognizer("scripted"),
        translator_factory=lambda name, r, s: PrefixTranslator(),
    )


async def stream_entries(redis: RedisServer, room: str) -> list[tuple[str, dict]]:
    client = Redis.from_url(redis.url)
    try:
        entries = await client.xrange(stream_key(room))
    finally:
        await client.aclose()
    out = []
    for entry_id, fields in entries:
        record = record_of(fields)
        assert record is not None
        out.append((entry_id.decode(), record))
    return out


async def speak(ws, first: int, last: int, pause_s: float = 0.0) -> None:
    """One sentence per word number: ``w<n>`` then a pause (which finalizes it)."""
    for n in range(first, last + 1):
        await ws.send(word_audio(n))
        await ws.send(word_audio(0))
        if pause_s:
            await asyncio.sleep(pause_s)


async def test_every_final_reaches_the_stream_in_order_with_translations_and_status(
    redis_server: RedisServer, tmp_path: Path, live_server: LiveServers
) -> None:
    live = await start_room(live_server, tmp_path / "state", redis_server.url)
    ws, ready = await open_audio(live.ws, "main")
    assert ready["type"] == "ready"
    await speak(ws, 1, 30)

    async def all_there() -> bool:
        return len(await stream_entries(redis_server, "main")) == 30

    await wait_for_async(all_there, timeout=30, what="30 finals in Redis")
    entries = await stream_entries(redis_server, "main")
    assert [i for i, _ in entries] == [f"{n}-0" for n in range(1, 31)]
    assert [r["text"] for _, r in entries] == [f"w{n}" for n in range(1, 31)]
    assert all(r["translations"] == {"it": f"it {r['text']}"} for _, r in entries)
    # the stream holds what the transcript holds, line for line
    lines = (tmp_path / "state/rooms/main/transcript.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [r for _, r in entries]
    client = Redis.from_url(redis_server.url)
    try:
        assert await client.smembers(ROOMS_KEY) == {b"main"}

        async def status_fresh() -> bool:
            raw = await client.get(status_key("main"))
            return raw is not None and json.loads(raw)["finals"] == 30

        await wait_for_async(status_fresh, timeout=15, what="the room's status")
        status = json.loads(await client.get(status_key("main")))
    finally:
        await client.aclose()
    assert status["screen"]["type"] == "status"
    assert status["audio"] == "flowing"
    assert status["replication"]["state"] == "ok"
    assert redis_server.password not in json.dumps(status)
    cursor = json.loads((tmp_path / "state/rooms/main/replication.json").read_text())
    assert cursor["segment"] == 30
    await ws.close()


async def test_an_outage_is_caught_up_in_order_without_duplicates_and_captions_never_wait(
    redis_server: RedisServer, tmp_path: Path, live_server: LiveServers
) -> None:
    live = await start_room(live_server, tmp_path / "state", redis_server.url)
    ws, _ = await open_audio(live.ws, "main")
    from websockets.asyncio.client import connect

    screen = await connect(f"{live.ws}/ws/captions/main?backlog=0", open_timeout=10)
    await recv_json(screen)  # status
    latencies: list[float] = []

    async def sentence(n: int) -> None:
        await ws.send(word_audio(n))
        sent = time.monotonic()
        await ws.send(word_audio(0))
        while True:
            message = await recv_json(screen)
            if message.get("type") == "final" and message["text"] == f"w{n}":
                latencies.append(time.monotonic() - sent)
                return

    for n in range(1, 11):
        await sentence(n)
    redis_server.stop()
    outage_start = len(latencies)
    started = time.monotonic()
    n = 11
    while time.monotonic() - started < 20:  # the talk goes on for 20 s without Redis
        await sentence(n)
        n += 1
        await asyncio.sleep(0.3)
    outage = latencies[outage_start:]
    health = await _healthz(live)
    assert health["rooms"]["main"]["replication"]["state"] == "failing"
    assert any("replication" in a for a in health["alarms"])
    redis_server.start()
    for m in range(n, n + 10):
        await sentence(m)
    total = n + 9

    async def caught_up() -> bool:
        return len(await stream_entries(redis_server, "main")) >= total

    await wait_for_async(caught_up, timeout=60, what="the backlog caught up")
    entries = await stream_entries(redis_server, "main")
    assert [r["segment"] for _, r in entries] == list(range(1, total + 1))
    assert [r["text"] for _, r in entries] == [f"w{k}" for k in range(1, total + 1)]
    print(
        f"\nroom caption latency during a 20 s Redis outage: {len(outage)} finals, "
        f"max {max(outage) * 1000:.0f} ms, mean {sum(outage) / len(outage) * 1000:.0f} ms "
        f"(before: max {max(latencies[:outage_start]) * 1000:.0f} ms)"
    )
    assert max(outage) < 5.0  # generous: the room never waited on Redis
    await screen.close()
    await ws.close()


async def _healthz(live: LiveServer) -> dict:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(f"{live.http}/healthz") as resp:
        return await resp.json()


async def test_a_server_restart_resends_nothing_twice_and_misses_nothing(
    redis_server: RedisServer, tmp_path: Path, live_server: LiveServers
) -> None:
    state = tmp_path / "state"
    live = await start_room(live_server, state, redis_server.url)
    ws, _ = await open_audio(live.ws, "main")
    await speak(ws, 1, 10)

    async def have(count: int) -> bool:
        return len(await stream_entries(redis_server, "main")) >= count

    await wait_for_async(lambda: have(10), timeout=30, what="10 finals")
    await ws.close()
    await live.stop()
    # the cursor file is behind Redis (a crash after XADD, before the cursor was saved)
    (state / "rooms/main/replication.json").write_text('{"segment": 3}')
    live = await start_room(live_server, state, redis_server.url)
    ws, _ = await open_audio(live.ws, "main")
    await speak(ws, 11, 15)
    await wait_for_async(lambda: have(15), timeout=30, what="15 finals")
    await asyncio.sleep(1.0)
    entries = await stream_entries(redis_server, "main")
    assert [r["segment"] for _, r in entries] == list(range(1, 16))
    await ws.close()


@pytest.mark.parametrize("case", ["wrong password", "unreachable"])
async def test_a_bad_redis_at_start_is_a_clear_error_and_the_room_captions(
    tmp_path: Path,
    live_server: LiveServers,
    redis_server: RedisServer,
    case: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = (
        redis_server.url_with("not-the-password")
        if case == "wrong password"
        else f"redis://:secret-pw@127.0.0.1:{free_port()}/0"
    )
    caplog.set_level(logging.INFO)
    live = await start_room(live_server, tmp_path / "state", url)
    await captions_normally(live.ws)

    async def failing() -> bool:
        return (await _healthz(live))["rooms"]["main"]["replication"]["state"] == "failing"

    await wait_for_async(failing, timeout=30, what="replication reported failing")
    health = await _healthz(live)
    error = health["rooms"]["main"]["replication"]["error"]
    expected = "wrong password" if case == "wrong password" else "cannot reach Redis"
    assert expected in error
    assert "not-the-password" not in json.dumps(health)
    assert "secret-pw" not in json.dumps(health)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "REPLICATION FAILING" in logged
    assert expected in logged
    assert "not-the-password" not in logged
    assert "secret-pw" not in logged
    # the status page shows it among the room's errors (admin API)
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(f"{live.http}/api/status") as r:
        errors = (await r.json())["rooms"]["main"]["errors"]
    assert any("replication failing" in str(e) for e in errors)


async def test_finals_the_disk_refused_are_replicated_in_their_place_and_once(
    redis_server: RedisServer, tiny_disk: TinyDisk, live_server: LiveServers
) -> None:
    live = await start_room(live_server, tiny_disk.mountpoint / "state", redis_server.url)
    ws, _ = await open_audio(live.ws, "main")
    await speak(ws, 1, 5)

    async def have(count: int) -> bool:
        return len(await stream_entries(redis_server, "main")) >= count

    await wait_for_async(lambda: have(5), timeout=30, what="5 finals")
    tiny_disk.remount("ro")
    await speak(ws, 6, 10)  # held in memory, marked unsaved on the Pi: Redis gets them anyway
    await wait_for_async(lambda: have(10), timeout=30, what="10 finals while the disk is full")
    entries = await stream_entries(redis_server, "main")
    assert all("unsaved" not in r for _, r in entries)
    transcript = tiny_disk.mountpoint / "state/rooms/main/transcript.jsonl"
    assert len(transcript.read_text().splitlines()) == 5
    tiny_disk.remount("rw")
    await speak(ws, 11, 12)
    await wait_for_async(lambda: have(12), timeout=30, what="12 finals")
    await asyncio.sleep(1.0)  # the held finals reach the file: not sent again
    entries = await stream_entries(redis_server, "main")
    assert [r["segment"] for _, r in entries] == list(range(1, 13))
    assert [r["text"] for _, r in entries] == [f"w{n}" for n in range(1, 13)]
    lines = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert [r["segment"] for r in lines] == list(range(1, 13))
    await ws.close()


async def test_new_finals_never_take_an_id_redis_already_holds(
    redis_server: RedisServer, tmp_path: Path, live_server: LiveServers
) -> None:
    """A restart that lost finals held in memory (the disk refused them, the process stopped):
    the transcript ends at 2 while the stream (and the replicator's cursor file) hold up to 50.
    New finals go above 50, none is taken for a duplicate."""
    state = tmp_path / "state"
    client = Redis.from_url(redis_server.url)
    try:
        for segment in (1, 2, 50):
            record = {"type": "final", "segment": segment, "text": f"old{segment}"}
            await client.xadd(stream_key("main"), entry_fields(record), id=f"{segment}-0")
    finally:
        await client.aclose()
    room_dir = state / "rooms" / "main"
    room_dir.mkdir(parents=True)
    lines = [{"type": "final", "segment": s, "text": f"old{s}", "end": float(s)} for s in (1, 2)]
    (room_dir / "transcript.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    (room_dir / "replication.json").write_text('{"segment": 50}')
    live = await start_room(live_server, state, redis_server.url)
    ws, _ = await open_audio(live.ws, "main")
    await speak(ws, 1, 3)

    async def have() -> bool:
        return len(await stream_entries(redis_server, "main")) == 6

    await wait_for_async(have, timeout=30, what="3 new finals in Redis")
    entries = await stream_entries(redis_server, "main")
    assert [r["segment"] for _, r in entries] == [1, 2, 50, 51, 52, 53]
    assert [r["text"] for _, r in entries][3:] == ["w1", "w2", "w3"]
    await ws.close()


async def test_a_wiped_redis_gets_the_whole_transcript_again(
    redis_server: RedisServer, tmp_path: Path, live_server: LiveServers
) -> None:
    live = await start_room(live_server, tmp_path / "state", redis_server.url)
    ws, _ = await open_audio(live.ws, "main")
    await speak(ws, 1, 5)

    async def have(count: int) -> bool:
        return len(await stream_entries(redis_server, "main")) >= count

    await wait_for_async(lambda: have(5), timeout=30, what="5 finals")
    client = Redis.from_url(redis_server.url)
    try:
        await client.flushall()
    finally:
        await client.aclose()
    redis_server.stop()  # the replicator reconnects to an empty Redis
    redis_server.start()
    await speak(ws, 6, 8)
    await wait_for_async(lambda: have(8), timeout=60, what="all 8 finals again")
    entries = await stream_entries(redis_server, "main")
    assert [r["segment"] for _, r in entries] == list(range(1, 9))
    await ws.close()

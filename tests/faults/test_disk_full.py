"""The SD card fills up (or turns read-only) mid-talk, end to end: the real server with its state
folder on a 512 KiB tmpfs (tests/helpers/tiny_disk.py), a real captions subscriber, an audio
source saying numbered sentences to the scripted recognizer.

The disk is filled with a file (a runaway log) or remounted read-only (what the kernel does to
an SD card after an I/O error) between two sentences; the talk goes on. Asserted: the subscriber
receives every final, in order, those the disk refused marked ``"unsaved": true``; ``/healthz``,
``/metrics`` and the exports say so; once the space is back (the file removed, or remounted
read-write) the transcript on disk holds every sentence exactly once, in the order spoken.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from edge_server.core.settings import RoomSettings, ServerSettings
from tests.helpers.live_server import LiveServer, LiveServers, make_settings
from tests.helpers.scripted_engine import CHUNK_BYTES, ScriptedRecognizer, word_audio
from tests.helpers.tiny_disk import TinyDisk
from tests.helpers.wire import open_audio, recv_json

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]
WAIT_S = 20.0
FRAME = 3200
MAX_SENTENCES = 150  # the file's last page may take a few more lines after the disk is full


def recognizer(_name: str, _room: RoomSettings, _server: ServerSettings) -> ScriptedRecognizer:
    return ScriptedRecognizer("scripted")


@contextlib.asynccontextmanager
async def subscriber(live: LiveServer) -> AsyncIterator[ClientConnection]:
    async with connect(f"{live.ws}/ws/captions/main?backlog=0", open_timeout=10) as ws:
        assert (await recv_json(ws))["type"] == "status"
        yield ws


async def next_final(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(WAIT_S):
        while True:
            message = await recv_json(ws)
            if message["type"] == "final":
                return message


async def drain_messages(ws: ClientConnection) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for _ in ws:
            pass


class Talk:
    """Says sentence after sentence (``w<n>`` then a pause) and collects what the subscriber
    receives."""

    def __init__(self, audio: ClientConnection, captions: ClientConnection) -> None:
        self.audio = audio
        self.captions = captions
        self.n = 0
        self.received: list[dict[str, Any]] = []

    async def sentence(self) -> dict[str, Any]:
        """One more sentence; returns its final as the subscriber received it."""
        self.n += 1
        for n in (self.n, 0):
            audio = word_audio(n)
            for offset in range(0, CHUNK_BYTES, FRAME):
                await asyncio.wait_for(self.audio.send(audio[offset : offset + FRAME]), WAIT_S)
        final = await next_final(self.captions)
        assert final["text"] == f"w{self.n}", final
        self.received.append(final)
        return final

    async def until_unsaved(self) -> int:
        """Sentences until one comes marked unsaved; returns how many that took."""
        for count in range(1, MAX_SENTENCES + 1):
            if (await self.sentence()).get("unsaved") is True:
                return count
        raise AssertionError("the broken disk never refused a final")


async def get_json(live: LiveServer, path: str) -> tuple[dict[str, Any], dict[str, str]]:
    timeout = aiohttp.ClientTimeout(total=WAIT_S)
    async with aiohttp.ClientSession(timeout=timeout) as http, http.get(live.http + path) as r:
        assert r.status == 200
        return await r.json(), dict(r.headers)


async def get_text(live: LiveServer, path: str) -> tuple[str, dict[str, str]]:
    timeout = aiohttp.ClientTimeout(total=WAIT_S)
    async with aiohttp.ClientSession(timeout=timeout) as http, http.get(live.http + path) as r:
        assert r.status == 200
        return await r.text(), dict(r.headers)


async def wait_storage(live: LiveServer, state: str) -> dict[str, Any]:
    async with asyncio.timeout(45):
        while True:
            body, _ = await get_json(live, "/healthz")
            storage: dict[str, Any] = body["rooms"]["main"]["storage"]
            if storage["state"] == state:
                return storage
            await asyncio.sleep(0.2)


BREAKS: dict[str, tuple[Callable[[TinyDisk], object], Callable[[TinyDisk], None], str]] = {
    "full": (TinyDisk.fill, TinyDisk.free, "ENOSPC"),
    "read-only": (
        lambda disk: disk.remount("ro"),
        lambda disk: disk.remount("rw"),
        "EROFS",
    ),
}


@pytest.mark.parametrize("fault", sorted(BREAKS))
@pytest.mark.parametrize("recovery", ["next final", "retry"])
async def test_the_talk_goes_on_and_the_transcript_ends_complete_and_in_order(
    tiny_disk: TinyDisk, live_server: LiveServers, fault: str, recovery: str
) -> None:
    break_disk, mend_disk, code = BREAKS[fault]
    state = tiny_disk.mountpoint / "state"
    live = await live_server(make_settings(state, fsync=True, min_free_mb=0), recognizer)
    audio, ready = await open_audio(live.ws, "main")
    assert ready["type"] == "ready", ready
    # The server tells the source of each final: read them, or its close waits behind them.
    drain = asyncio.create_task(drain_messages(audio))
    started = time.monotonic()
    try:
        async with subscriber(live) as captions:
            talk = Talk(audio, captions)
            for _ in range(3):
                assert "unsaved" not in await talk.sentence()
            break_disk(tiny_disk)
            took = await talk.until_unsaved()
            for _ in range(3):
                assert (await talk.sentence())["unsaved"] is True
            unsaved = [f["text"] for f in talk.received if f.get("unsaved")]

            body, _ = await get_json(live, "/healthz")
            storage = body["rooms"]["main"]["storage"]
            assert body["status"] == "degraded"
            assert any("transcript not saved" in alarm for alarm in body["alarms"])
            assert storage["state"] == "failing"
            assert storage["error"].startswith(code)
            assert storage["unsaved"] == len(unsaved) == 4
            assert code in body["rooms"]["main"]["last_error"]
            metrics, _ = await get_text(live, "/metrics")
            assert 'edge_room_storage_ok{room="main"} 0.0' in metrics
            assert f'edge_room_storage_failing{{error="{code}",room="main"}} 1.0' in metrics
            assert 'edge_room_unsaved_finals{room="main"} 4.0' in metrics
            # Exports still hold every sentence; the header says how many are not on disk.
            text, headers = await get_text(live, "/rooms/main/transcript.txt")
            assert headers["X-Unsaved-Finals"] == "4"
            assert text.split() == [f"w{n}" for n in range(1, talk.n + 1)]
            jsonl, headers = await get_text(live, "/rooms/main/transcript.jsonl")
            exported = [json.loads(line) for line in jsonl.splitlines()]
            assert [r["text"] for r in exported] == [f"w{n}" for n in range(1, talk.n + 1)]
            assert [r["text"] for r in exported if r.get("unsaved")] == unsaved

            mend_disk(tiny_disk)
            if recovery == "retry":  # nobody speaks: the retry with backoff writes them
                storage = await wait_storage(live, "ok")
            else:  # the next final writes the held ones first
                assert "unsaved" not in await talk.sentence()
                storage = (await get_json(live, "/healthz"))[0]["rooms"]["main"]["storage"]
            assert (storage["state"], storage["unsaved"], storage["dropped"]) == ("ok", 0, 0)
            assert storage["last_error"].startswith(code)
            for _ in range(2):
                assert "unsaved" not in await talk.sentence()
            body, _ = await get_json(live, "/healthz")
            assert (body["status"], body["alarms"]) == ("ok", [])
    finally:
        await audio.close()
        await asyncio.wait_for(drain, WAIT_S)

    path = state / "rooms" / "main" / "transcript.jsonl"
    data = path.read_bytes()
    assert data.endswith(b"\n")
    records = [json.loads(line) for line in data.splitlines()]
    assert [r["text"] for r in records] == [f"w{n}" for n in range(1, talk.n + 1)]
    assert [r["segment"] for r in records] == sorted({r["segment"] for r in records})
    assert [r["text"] for r in records] == [f["text"] for f in talk.received]
    assert all("unsaved" not in r for r in records)
    print(
        f"\n{fault}/{recovery}: {talk.n} sentences, the disk refused sentence {took} after it "
        f"broke, {len(unsaved)} held then written in order; {time.monotonic() - started:.1f} s"
    )


async def test_a_live_settings_change_on_a_read_only_disk_applies_and_says_it_is_not_kept(
    tiny_disk: TinyDisk, live_server: LiveServers
) -> None:
    state = tiny_disk.mountpoint / "state"
    live = await live_server(make_settings(state, min_free_mb=0), recognizer)
    audio, ready = await open_audio(live.ws, "main")
    assert ready["type"] == "ready", ready
    drain = asyncio.create_task(drain_messages(audio))
    try:
        async with subscriber(live) as captions:
            talk = Talk(audio, captions)
            await talk.sentence()
            saved = state / "rooms" / "main" / "live-settings.json"
            tiny_disk.remount("ro")
            timeout = aiohttp.ClientTimeout(total=WAIT_S)
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.post(
                    f"{live.http}/api/rooms/main/settings", json={"source_lang": "it-IT"}
                ) as answer,
            ):
                assert answer.status == 200, await answer.text()
                assert (await answer.json())["source_lang"] == "it-IT"
            final = await talk.sentence()  # the room goes on, in the new language
            assert (final["lang"], final["unsaved"]) == ("it-IT", True)
            body, _ = await get_json(live, "/api/status")
            errors = [e["message"] for e in body["rooms"]["main"]["errors"]]
            assert any(
                e.startswith("could not save the live settings") and "Read-only" in e
                for e in errors
            ), errors
            assert any(e.startswith("transcript write failed (EROFS") for e in errors), errors
            assert not saved.exists()
            tiny_disk.remount("rw")
            assert "unsaved" not in await talk.sentence()
    finally:
        await audio.close()
        await asyncio.wait_for(drain, WAIT_S)
    status, _ = await get_json(live, "/healthz")
    assert status["rooms"]["main"]["source_lang"] == "it-IT"

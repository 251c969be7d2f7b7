"""Talks through a hub, against a real redis-server: a room server with a real schedule file
replicates its talks; the hub's overview shows the talk on now and the next one per room, and
the hub's ``/rooms/{room}/talks`` and per-talk transcripts are the room server's, byte for
byte (the same finals, attributed and timed from the talk's start, plus the talk's offset);
bad requests get clear refusals."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as redis_asyncio

from edge_server.core.replication import talks_key
from edge_server.core.settings import RoomSettings
from tests.helpers.hub import LiveHub
from tests.helpers.live_server import LiveServer, LiveServers, make_settings
from tests.helpers.redis_server import RedisServer
from tests.helpers.scripted_engine import PrefixTranslator, ScriptedRecognizer, word_audio
from tests.helpers.waiting import wait_for_async
from tests.helpers.wire import open_audio

pytestmark = pytest.mark.timeout(120)
ZONE = dt.timezone(dt.timedelta(hours=2))  # the schedule's offset is not the server's (UTC)


def event(talk_id: str, title: str, start: dt.datetime, minutes: int, *speakers: str) -> str:
    persons = "".join(f"<person>{p}</person>" for p in speakers)
    return (
        f'<event id="{talk_id}"><date>{start.isoformat()}</date><start>{start:%H:%M}</start>'
        f"<duration>{minutes // 60:02d}:{minutes % 60:02d}</duration><room>Main Hall</room>"
        f"<slug>t-{talk_id}</slug><title>{title}</title><persons>{persons}</persons></event>"
    )


def write_schedule(path: Path) -> tuple[dt.datetime, dt.datetime]:
    """A past talk, one on now (started a minute ago), the next one; their starts."""
    now = dt.datetime.now(ZONE).replace(second=0, microsecond=0)
    current = now - dt.timedelta(minutes=1)
    upcoming = current + dt.timedelta(minutes=40)
    path.write_text(
        '<schedule><day date="2026-01-01"><room name="Main Hall">'
        + event("past", "Yesterday's news", current - dt.timedelta(hours=2), 30, "Old Timer")
        + event("now", "Captions &amp; schedules", current, 40, "Ada Lovelace", "Grace Hopper")
        + event("next", "What comes after", upcoming, 30, "Alan Turing")
        + "</room></day></schedule>"
    )
    return current, upcoming


async def start_room(
    live_server: LiveServers, tmp_path: Path, redis: RedisServer, schedule: Path
) -> LiveServer:
    settings = make_settings(
        tmp_path / "state",
        replicate_to=redis.url,
        max_frame_bytes=16000,
        schedule=str(schedule),
        trust_clock=True,  # this machine's clock may not be NTP-synchronized
        default_room=RoomSettings(targets=("it",)),
        rooms={"main": RoomSettings(targets=("it",), schedule_room="Main Hall",
                                    talk_offsets={"now": 12.5})},
    )  # fmt: skip
    return await live_server(
        settings,
        recognizer_factory=lambda name, r, s: ScriptedRecognizer("scripted"),
        translator_factory=lambda name, r, s: PrefixTranslator(),
    )


async def fetch(url: str) -> tuple[int, str, dict[str, str]]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, await resp.text(), dict(resp.headers)


async def test_the_hub_shows_now_and_next_and_serves_the_room_s_talk_exports(
    redis_server: RedisServer, tmp_path: Path, live_server: LiveServers
) -> None:
    current, upcoming = write_schedule(tmp_path / "schedule.xml")
    room = await start_room(live_server, tmp_path, redis_server, tmp_path / "schedule.xml")
    audio, _ = await open_audio(room.ws, "main")
    for n in range(1, 6):
        await audio.send(word_audio(n))
        await audio.send(word_audio(0))
    hub = await LiveHub(make_settings(tmp_path / "hub-unused"), redis_server.url).start()
    try:

        async def replicated() -> bool:
            _, text, _ = await fetch(f"{hub.http}/api/overview")
            rooms = {r["room"]: r for r in json.loads(text)["rooms"]}
            main = rooms.get("main")
            if main is None or main["finals"] != 5 or main["talk"] is None:
                return False
            _, listing, _ = await fetch(f"{hub.http}/rooms/main/talks")
            talks = json.loads(listing).get("talks", [])
            return [t["finals"] for t in talks] == [0, 5, 0]

        await wait_for_async(replicated, timeout=40, what="5 finals and the talks on the hub")
        _, text, _ = await fetch(f"{hub.http}/api/overview")
        main = json.loads(text)["rooms"][0]
        assert main["talk"] == {
            "id": "now", "title": "Captions & schedules",
            "speakers": ["Ada Lovelace", "Grace Hopper"],
            "start": current.isoformat(), "end": (current + dt.timedelta(minutes=40)).isoformat(),
        }  # fmt: skip
        assert main["next_talk"]["title"] == "What comes after"
        status, page, _ = await fetch(f"{hub.http}/")
        assert status == 200
        until = f"{current + dt.timedelta(minutes=40):%H:%M}"
        assert f"Now: Captions &amp; schedules (Ada Lovelace, Grace Hopper) until {until}" in page
        assert f"Next: What comes after (Alan Turing) at {upcoming:%H:%M}" in page

        # The hub's talk list and files are the room server's.
        paths = ["/rooms/main/talks"]
        for talk in ("now", "past", "between"):
            for fmt in ("txt", "srt", "vtt", "jsonl"):
                paths.append(f"/rooms/main/talks/{talk}/transcript.{fmt}")
        paths.append("/rooms/main/talks/now/transcript.srt?lang=it")
        for path in paths:
            at_room = await fetch(f"{room.http}{path}")
            at_hub = await fetch(f"{hub.http}{path}")
            assert at_hub[0] == at_room[0] == 200, (path, at_hub[1])
            assert at_hub[1] == at_room[1], path
            disposition = "Content-Disposition"
            assert at_hub[2].get(disposition) == at_room[2].get(disposition), path
        listing = json.loads((await fetch(f"{hub.http}/rooms/main/talks"))[1])
        assert [t["id"] for t in listing["talks"]] == ["past", "now", "next"]
        assert listing["talks"][1]["offset_s"] == 12.5
        assert listing["talks"][1]["links"]["srt"] == "/rooms/main/talks/now/transcript.srt"
        rows = (await fetch(f"{hub.http}/rooms/main/talks/now/transcript.jsonl"))[1]
        finals = [json.loads(line) for line in rows.splitlines()]
        assert [f["text"] for f in finals] == ["w1", "w2", "w3", "w4", "w5"]
        assert all(f["talk"] == "now" for f in finals)
        # times from the talk's start (a minute ago) plus its 12.5 s offset: about 47 s in
        assert all(20 < f["start"] < 200 for f in finals), finals
        srt = (await fetch(f"{hub.http}/rooms/main/talks/now/transcript.srt?lang=it"))[1]
        assert "it w5" in srt

        # Refusals: an unknown talk, a bad language, a room that does not replicate here.
        status, body, _ = await fetch(f"{hub.http}/rooms/main/talks/nope/transcript.txt")
        assert status == 404
        assert json.loads(body)["code"] == "unknown_talk"
        status, body, _ = await fetch(f"{hub.http}/rooms/main/talks/now/transcript.txt?lang=x!")
        assert status == 400
        status, body, _ = await fetch(f"{hub.http}/rooms/elsewhere/talks")
        assert status == 404
        assert json.loads(body)["code"] == "unknown_room"
        status, body, _ = await fetch(f"{hub.http}/rooms/BAD%20NAME/talks")
        assert status == 400

        # A talks document the hub cannot read is a clear 502, and nothing else breaks.
        writer = redis_asyncio.Redis.from_url(redis_server.url)
        try:
            await writer.set(talks_key("main"), json.dumps({"version": 99}))
            status, body, _ = await fetch(f"{hub.http}/rooms/main/talks")
            assert status == 502
            assert "format 99" in json.loads(body)["message"]
            status, _, _ = await fetch(f"{hub.http}/rooms/main/transcript.txt")
            assert status == 200
        finally:
            await writer.aclose()
    finally:
        await hub.stop()
        await audio.close()

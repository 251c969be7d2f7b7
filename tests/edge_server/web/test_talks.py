"""Talks end to end: a schedule served over HTTP on 127.0.0.1 (good, invalid, too slow), finals
from real WebSockets attributed to the talk running when they were spoken, the per-talk
endpoints, the clock, and ``edge-server export-talks`` as a real process."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from websockets.asyncio.client import connect

from edge_server.contract.uplink import build_position
from edge_server.core.settings import RoomSettings, ServerSettings
from edge_server.web.app_keys import ROOMS
from edge_server.web.schedule_feed import refresh_once
from tests.helpers.live_server import LiveServer, make_settings
from tests.helpers.paths import FIXTURES, ROOT
from tests.helpers.scripted_engine import PrefixTranslator, ScriptedRecognizer, word_audio
from tests.helpers.waiting import wait_until
from tests.helpers.wire import HELLO, open_audio, recv_json


@dataclass
class TalkSpec:
    id: str
    room: str
    title: str
    start: dt.datetime
    seconds: int
    speakers: tuple[str, ...] = ("Ada Lovelace",)


def schedule_xml(talks: list[TalkSpec]) -> bytes:
    """A Schedule XML document (pretalx-style, times in +02:00) of ``talks``."""
    zone = dt.timezone(dt.timedelta(hours=2))
    rooms: dict[str, list[str]] = {}
    for t in talks:
        start = t.start.astimezone(zone)
        h, rest = divmod(t.seconds, 3600)
        persons = "".join(f"<person>{p}</person>" for p in t.speakers)
        rooms.setdefault(t.room, []).append(
            f'<event id="{t.id}" guid="guid-{t.id}"><date>{start.isoformat()}</date>'
            f"<start>{start:%H:%M}</start><duration>{h}:{rest // 60:02d}:{rest % 60:02d}</duration>"
            f"<room>{t.room}</room><slug>conf-{t.id}-slug</slug><title>{t.title}</title>"
            f"<persons>{persons}</persons></event>"
        )
    body = "".join(f'<room name="{name}">{"".join(ev)}</room>' for name, ev in rooms.items())
    return (
        "<schedule><conference><title>Test</title></conference>"
        f'<day date="{dt.date.today()}">{body}</day></schedule>'
    ).encode()


@dataclass
class ScheduleServer:
    """Serves ``/schedule.xml`` (whatever ``body`` is now) and ``/slow.xml`` (never in time)."""

    body: bytes = b""
    requests: int = 0
    server: TestServer | None = field(default=None)

    async def schedule(self, request: web.Request) -> web.Response:
        self.requests += 1
        return web.Response(body=self.body, content_type="application/xml")

    async def slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response(body=b"")

    def url(self, path: str = "/schedule.xml") -> str:
        assert self.server is not None
        return str(self.server.make_url(path))


@pytest.fixture
async def schedule_server() -> AsyncIterator[ScheduleServer]:
    state = ScheduleServer()
    app = web.Application()
    app.router.add_get("/schedule.xml", state.schedule)
    app.router.add_get("/slow.xml", state.slow)
    state.server = TestServer(app, host="127.0.0.1", port=0)
    await state.server.start_server()
    yield state
    await state.server.close()


async def start(settings: ServerSettings, clock: tuple[bool | None, str]) -> LiveServer:
    recognizer = ScriptedRecognizer("scripted")
    live = LiveServer(
        settings,
        recognizer_factory=lambda name, r, s: recognizer,
        translator_factory=lambda name, r, s: PrefixTranslator(),
    )
    live.app[ROOMS].clock_probe = lambda: clock
    return await live.start()


async def get_json(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.json()


async def get_text(url: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200, await response.text()
        return await response.text()


async def say(live: LiveServer, room: str, words: list[int]) -> dict[str, Any]:
    """Stream ``words`` then a pause into ``room`` as a positioned node stream (as
    ``edge-audio`` does); the final it made."""
    async with connect(f"{live.ws}/ws/captions/{room}?backlog=0&partials=0") as captions:
        hello = HELLO | {"stream": f"node-{room}-{words[0]:04d}"}  # a new node process each
        audio, ready = await open_audio(live.ws, room, hello)
        assert ready["type"] == "ready", ready
        await audio.send(build_position(0))
        for n in [*words, 0]:
            await audio.send(word_audio(n))
        while (message := await recv_json(captions))["type"] != "final":
            pass
        await audio.close()
    return message


def cue_start(srt: str) -> float:
    """Seconds at which the first cue of an SRT file starts."""
    hours, minutes, rest = srt.splitlines()[1].split(" --> ")[0].split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(rest.replace(",", "."))


async def healthz(live: LiveServer) -> dict[str, Any]:
    status, body = await get_json(f"{live.http}/healthz")
    assert status == 200
    return dict(body)


async def test_finals_land_in_the_talk_running_when_spoken(
    tmp_path: Path, schedule_server: ScheduleServer
) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    first_end = now + dt.timedelta(seconds=12)
    schedule_server.body = schedule_xml([
        TalkSpec("11", "Hall A", "Opening", now - dt.timedelta(seconds=60), 72),
        TalkSpec("12", "Hall A", "Second", first_end, 1800, ("Bob", "Carol")),
        TalkSpec("21", "Room B/2", "Later in B", now + dt.timedelta(hours=1), 1800),
    ])  # fmt: skip
    settings = make_settings(
        tmp_path,
        schedule=schedule_server.url(),
        max_frame_bytes=16000,
        default_room=RoomSettings(targets=("it",)),
        rooms={
            "hall-a": RoomSettings(targets=("it",)),
            "b": RoomSettings(schedule_room="room b 2", talk_offsets={"11": 5.0}),
        },
    )
    live = await start(settings, (True, "test: synchronized"))
    await wait_until(lambda: live.app[ROOMS].talks.schedule is not None, 20)
    health = await healthz(live)
    assert health["status"] == "ok", health["alarms"]
    assert health["schedule"]["talks"] == 3
    assert health["clock"] == {
        "synchronized": True,
        "detail": "test: synchronized",
        "last_step_s": None,
    }
    assert health["rooms"]["hall-a"]["talks"]["current"]["title"] == "Opening"
    assert health["rooms"]["hall-a"]["talks"]["next"]["id"] == "12"

    in_first = await say(live, "hall-a", [1, 2])
    assert in_first["talk"] == "11"
    assert "stream" not in in_first  # the stream position is internal: not on screens
    assert "stream_end" not in in_first
    between = await say(live, "b", [3])
    assert between["talk"] is None
    # the screens' status carries the talk
    async with connect(f"{live.ws}/ws/captions/hall-a?backlog=0") as captions:
        status = await recv_json(captions)
    assert status["talk"]["title"] == "Opening"
    assert status["next_talk"]["speakers"] == ["Bob", "Carol"]

    # Audio goes in faster than real time here: a final "began" its length before it was
    # stored, so wait for more than that past the change.
    await asyncio.sleep(max(0.0, (first_end - dt.datetime.now(dt.UTC)).total_seconds()) + 3.0)
    in_second = await say(live, "hall-a", [4, 5, 6])
    assert in_second["talk"] == "12"

    status_code, listing = await get_json(f"{live.http}/rooms/hall-a/talks")
    assert status_code == 200
    assert listing["error"] is None
    assert [(t["id"], t["finals"]) for t in listing["talks"]] == [("11", 1), ("12", 1)]
    assert listing["talks"][1]["speakers"] == ["Bob", "Carol"]
    assert listing["talks"][0]["links"]["srt"] == "/rooms/hall-a/talks/11/transcript.srt"
    assert listing["between"]["finals"] == 0

    # Cue times from the talk's scheduled start: the opening began 60 s before the test.
    srt = await get_text(f"{live.http}/rooms/hall-a/talks/11/transcript.srt")
    # 60 s before the test, less the length of a final sent faster than real time
    assert 55 <= cue_start(srt) <= 60 + (dt.datetime.now(dt.UTC) - now).total_seconds(), srt
    assert srt.splitlines()[2] == "w1 w2"
    second_srt = await get_text(f"{live.http}/rooms/hall-a/talks/12/transcript.srt")
    assert 0 <= cue_start(second_srt) <= 10, second_srt  # began about 2 s after talk 12
    italian = await get_text(f"{live.http}/rooms/hall-a/talks/12/transcript.vtt?lang=it")
    assert "it w4 w5 w6" in italian
    lines = (await get_text(f"{live.http}/rooms/hall-a/talks/11/transcript.jsonl")).splitlines()
    assert [json.loads(line)["text"] for line in lines] == ["w1 w2"]
    assert "stream_end" not in lines[0]
    assert (await get_text(f"{live.http}/rooms/b/talks/between/transcript.txt")) == "w3\n"
    assert (await get_json(f"{live.http}/rooms/hall-a/talks/nope/transcript.txt"))[0] == 404
    assert (await get_json(f"{live.http}/rooms/hall-a/talks/11/transcript.txt?lang=x y"))[0] == 400

    # The attribution is in the transcript itself: it survives a restart and schedule changes.
    stored = (tmp_path / "rooms" / "hall-a" / "transcript.jsonl").read_text().splitlines()
    assert [json.loads(line)["talk"] for line in stored] == ["11", "12"]
    streams = [json.loads(line)["stream"] for line in stored]
    assert streams == ["node-hall-a-0001", "node-hall-a-0004"]
    await live.stop()

    # export-talks (a real process) writes one folder per talk slug.
    out = tmp_path / "export"
    config = tmp_path / "server.toml"
    config.write_text(
        f'state_dir = "{tmp_path}"\nschedule = "{schedule_server.url()}"\n'
        '[rooms.b]\nschedule_room = "Room B/2"\n'
    )
    # (not subprocess.run: the schedule server runs on this test's event loop)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "edge_server.cli", "export-talks", "--config", str(config),
        "--out", str(out), cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr_bytes = await asyncio.wait_for(proc.communicate(), 60)
    stderr = stderr_bytes.decode()
    assert proc.returncode == 0, stderr
    assert stdout.decode().splitlines()[0].split("\t")[:3] == ["hall-a", "11", "1 finals"]
    assert sorted(p.name for p in out.iterdir()) == ["conf-11-slug", "conf-12-slug"]
    assert sorted(p.name for p in (out / "conf-12-slug").iterdir()) == [
        "talk.json",
        "transcript.it.srt",
        "transcript.it.txt",
        "transcript.it.vtt",
        "transcript.jsonl",
        "transcript.srt",
        "transcript.txt",
        "transcript.vtt",
    ]
    meta = json.loads((out / "conf-11-slug" / "talk.json").read_text())
    assert (meta["title"], meta["room"], meta["finals"]) == ("Opening", "hall-a", 1)
    assert (out / "conf-12-slug" / "transcript.it.txt").read_text() == "it w4 w5 w6\n"
    assert "stream" not in (out / "conf-12-slug" / "transcript.jsonl").read_text()
    assert "2 talk(s) written" in stderr
    assert "room b" not in stderr  # b is in the schedule (as Room B/2), it has no talk finals


async def test_bad_schedules_are_clear_errors_and_captions_go_on(
    tmp_path: Path, schedule_server: ScheduleServer
) -> None:
    now = dt.datetime.now(dt.UTC)
    good = schedule_xml([TalkSpec("1", "Hall A", "Kept", now - dt.timedelta(minutes=5), 3600)])
    schedule_server.body = (FIXTURES / "schedule" / "invalid.xml").read_bytes()
    settings = make_settings(
        tmp_path, schedule=schedule_server.url(), max_frame_bytes=16000, schedule_timeout_s=1.0
    )
    live = await start(settings, (True, "test"))
    board = live.app[ROOMS].talks
    await wait_until(lambda: board.error is not None, 20)
    health = await healthz(live)
    assert health["status"] == "degraded"
    assert health["alarms"] == [
        f"schedule {schedule_server.url()}: invalid XML at line 6, column 7: mismatched tag"
    ]
    final = await say(live, "hall-a", [7])  # captions go on, without talk information
    assert final["text"] == "w7"
    assert "talk" not in final
    listing = (await get_json(f"{live.http}/rooms/hall-a/talks"))[1]
    assert listing["talks"] == []
    assert listing["error"].startswith("no schedule loaded: invalid XML at line 6")

    # A good schedule, then one that does not answer in time: the good one is kept.
    schedule_server.body = good
    assert await refresh_once(board, settings)
    slow = dataclasses.replace(settings, schedule=schedule_server.url("/slow.xml"))
    assert not await refresh_once(board, slow)
    assert board.error == "no complete answer within 1 s"
    assert board.schedule is not None
    assert board.schedule.talks[0].title == "Kept"
    health = await healthz(live)
    assert health["alarms"] == [
        f"schedule {schedule_server.url()}: no complete answer within 1 s "
        "(the last good schedule is kept)"
    ]
    assert (await say(live, "hall-a", [8]))["talk"] == "1"
    # A room the schedule does not know: said so, and it still captions.
    final = await say(live, "hall-c", [9])
    assert "talk" not in final
    health = await healthz(live)
    assert any("room hall-c: the schedule has no room 'hall-c'" in a for a in health["alarms"])
    await live.stop()


async def test_an_unsynchronized_clock_is_loud_and_attributes_nothing(
    tmp_path: Path, schedule_server: ScheduleServer
) -> None:
    now = dt.datetime.now(dt.UTC)
    schedule_server.body = schedule_xml(
        [TalkSpec("1", "main", "Now", now - dt.timedelta(minutes=5), 3600)]
    )
    settings = make_settings(tmp_path, schedule=schedule_server.url(), max_frame_bytes=16000)
    live = await start(settings, (False, "test: not synchronized"))
    await wait_until(lambda: live.app[ROOMS].talks.schedule is not None, 20)
    health = await healthz(live)
    assert health["clock"]["synchronized"] is False
    assert health["alarms"] == [
        "the system clock is NOT synchronized: finals are not attributed to talks until it is "
        "(test: not synchronized)"
    ]
    final = await say(live, "main", [1])
    assert final["clock_unsynced"] is True
    assert "talk" not in final
    listing = (await get_json(f"{live.http}/rooms/main/talks"))[1]
    assert listing["clock_synchronized"] is False
    assert listing["talks"][0]["finals"] == 0
    assert listing["unattributed"]["finals"] == 1
    # The clock synchronizes (here without moving: the test cannot step the real clock): the
    # step is saved and the final is attributed to its talk by its corrected time.
    live.app[ROOMS].clock_probe = lambda: (True, "test: synchronized")
    await wait_until(lambda: live.app[ROOMS].talks.clock_synchronized is True, 10)
    health = await healthz(live)
    assert health["alarms"] == []
    assert abs(health["clock"]["last_step_s"]) < 1.0
    listing = (await get_json(f"{live.http}/rooms/main/talks"))[1]
    assert listing["talks"][0]["finals"] == 1
    assert "unattributed" not in listing
    srt = await get_text(f"{live.http}/rooms/main/talks/1/transcript.srt")
    assert 295 <= cue_start(srt) <= 300 + 60, srt  # the talk began 5 min before the test
    steps = (tmp_path / "clock-steps.jsonl").read_text().splitlines()
    assert len(steps) == 1
    await live.stop()

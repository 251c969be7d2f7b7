"""The glossary on a room's finals, through real WebSockets: corrections before translation and
storage (the heard text kept), the schedule's speakers written exactly, and a glossary with a
syntax error refused at start by the real command, naming the file and the line."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from websockets.asyncio.client import connect

from edge_server.core.settings import RoomSettings
from edge_server.web.app_keys import ROOMS
from tests.helpers.live_server import LiveServers, make_settings
from tests.helpers.scripted_engine import PrefixTranslator, ScriptedRecognizer, word_audio
from tests.helpers.waiting import wait_until
from tests.helpers.wire import open_audio, recv_json


async def test_finals_are_corrected_before_translation_and_storage(
    tmp_path: Path, live_server: LiveServers
) -> None:
    conference = tmp_path / "glossary.toml"
    conference.write_text('[corrections]\n"w1 w2" = "PipeWire"\n')
    room_file = tmp_path / "main-glossary.toml"
    room_file.write_text('terms = ["W9"]\n')
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    schedule = tmp_path / "schedule.xml"
    schedule.write_text(
        '<schedule><day><room name="main"><event id="1">'
        f"<date>{start.isoformat()}</date><duration>1:00</duration><title>t</title>"
        "<persons><person>W3 W4</person></persons></event></room></day></schedule>"
    )
    recognizer = ScriptedRecognizer("scripted")
    settings = make_settings(
        tmp_path / "state",
        max_frame_bytes=16000,
        glossary=conference,
        schedule=str(schedule),
        trust_clock=True,
        rooms={"main": RoomSettings(targets=("it",), glossary=str(room_file))},
    )
    server = await live_server(
        settings,
        recognizer_factory=lambda name, r, s: recognizer,
        translator_factory=lambda name, r, s: PrefixTranslator(),
    )
    async with connect(f"{server.ws}/ws/captions/main?backlog=0&partials=0") as captions:
        audio, _ = await open_audio(server.ws, "main")
        finals = []
        # wait for the schedule (its speakers join the glossary) before speaking
        await wait_until(lambda: server.app[ROOMS].talks.schedule is not None, 20)
        for words in ((1, 2, 5), (3, 4, 9)):
            for n in (*words, 0):
                await audio.send(word_audio(n))
            while (message := await recv_json(captions))["type"] != "final":
                pass
            finals.append(message)
        await audio.close()
    assert [(f["text"], f.get("heard")) for f in finals] == [
        ("PipeWire w5", "w1 w2 w5"),  # the conference's correction
        ("W3 W4 W9", "w3 w4 w9"),  # a speaker's name from the schedule, the room's own term
    ]
    assert finals[0]["translations"] == {"it": "it PipeWire w5"}  # translated after correction
    stored = (tmp_path / "state/rooms/main/transcript.jsonl").read_text().splitlines()
    assert [json.loads(line)["text"] for line in stored] == ["PipeWire w5", "W3 W4 W9"]


def test_a_glossary_with_a_syntax_error_stops_the_server_at_start(tmp_path: Path) -> None:
    bad = tmp_path / "glossary.toml"
    bad.write_text('terms = ["PipeWire"]\n[corrections]\n"pipe wire" = PipeWire\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_SERVER_")}
    env["EDGE_SERVER_GLOSSARY"] = str(bad)
    result = subprocess.run(
        [sys.executable, "-m", "edge_server.cli", "serve", "--port", "1",
         "--state-dir", str(tmp_path / "state")],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert f"configuration error: glossary {bad}: " in result.stderr
    assert "(at line 3, column 15)" in result.stderr

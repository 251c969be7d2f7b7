"""The room pipeline end to end through real WebSockets and the real recognizer:
file -> edge-audio -> edge-server -> captions subscriber, the transcript and its exports."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path

import aiohttp
import pytest
from websockets.asyncio.client import connect

from edge_server.core.pace import PaceRules
from edge_server.engines.pocketsphinx.recognizer import PocketsphinxRecognizer
from tests.helpers.live_server import LiveServer, LiveServers, make_settings
from tests.helpers.processes import EDGE_AUDIO
from tests.helpers.wire import recv_json

pytestmark = pytest.mark.speech


async def run_edge_audio(server: LiveServer, wav: Path, *extra: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *EDGE_AUDIO, "stream-file", str(wav), "--server", server.http, "--room", "main",
        "--lang", "en-US", *extra,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def collect_captions(server: LiveServer, room: str, finals: int) -> list[dict]:
    """Subscribe and return every message until ``finals`` live finals arrived."""
    messages: list[dict] = []
    async with connect(f"{server.ws}/ws/captions/{room}?backlog=0") as ws:
        while sum(1 for m in messages if m["type"] == "final") < finals:
            messages.append(await recv_json(ws, timeout=60))
    return messages


async def test_file_through_edge_audio_to_subscriber_transcript_and_exports(
    server: LiveServer, librivox_files: list[tuple[Path, str]]
) -> None:
    wav = librivox_files[1][0]
    async with connect(f"{server.ws}/ws/captions/main") as sub:
        status = await recv_json(sub)
        assert status["type"] == "status"
        assert status["engine"] == "pocketsphinx"
        assert status["translator"] == "none"
        code, out, err = await run_edge_audio(server, wav, "--speed", "0")
        assert code == 0, err
        messages = []
        while not any(m["type"] == "final" for m in messages):
            messages.append(await recv_json(sub))
    partials = [m for m in messages if m["type"] == "partial"]
    [final] = [m for m in messages if m["type"] == "final"]
    assert partials, "the recognizer must show partial results before the final"
    assert {p["segment"] for p in partials} == {final["segment"]}
    assert "young man" in final["text"]
    assert final["lang"] == "en-US"
    assert final["translations"] == {}
    assert 0 <= final["start"] < final["end"] <= 3.5
    # edge-audio printed the final it caused, and a summary.
    assert final["text"] in out
    assert "1 final(s)" in out

    transcript = server.settings.state_dir / "rooms" / "main" / "transcript.jsonl"
    [stored] = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert stored["text"] == final["text"]
    assert stored["segment"] == final["segment"]

    async with aiohttp.ClientSession() as http:
        base = f"{server.http}/rooms/main/transcript"
        async with http.get(f"{base}.txt") as r:
            assert r.status == 200
            assert await r.text() == final["text"] + "\n"
        async with http.get(f"{base}.srt") as r:
            srt = await r.text()
            assert re.fullmatch(
                r"1\n00:00:0\d,\d{3} --> 00:00:0\d,\d{3}\n" + re.escape(final["text"]) + r"\n", srt
            ), srt
        async with http.get(f"{base}.vtt") as r:
            assert r.headers["Content-Type"].startswith("text/vtt")
            vtt = await r.text()
            assert vtt.startswith("WEBVTT\n")
            assert re.search(r"\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}\n", vtt)
        async with http.get(f"{base}.txt?lang=not a lang") as r:
            assert r.status == 400
        async with http.get(f"{server.http}/healthz") as r:
            health = await r.json()
            room = health["rooms"]["main"]
            assert room["engine"] == "pocketsphinx"
            assert room["finals"] == 1
            assert room["audio"] == "absent"
            assert room["audio_flowing"] is False
        async with http.get(f"{server.http}/") as r:
            index = await r.text()
            assert "/kiosk/main" in index
            assert "/rooms/main/transcript.srt" in index


async def test_resampled_stereo_file_is_recognized(
    server: LiveServer, librivox_files: list[tuple[Path, str]], tmp_path: Path
) -> None:
    import numpy as np
    import soundfile

    data, rate = soundfile.read(librivox_files[1][0], dtype="float32")
    import soxr

    stereo48 = soxr.resample(data, rate, 48000)
    quiet_right = np.stack([stereo48, stereo48 * 0.1], axis=1)
    wav = tmp_path / "stereo48.wav"
    soundfile.write(wav, quiet_right, 48000, subtype="PCM_24")
    code, out, err = await run_edge_audio(server, wav, "--speed", "0", "--channel", "0")
    assert code == 0, err
    assert "young man" in out


async def test_audio_health_while_flowing(
    server: LiveServer, librivox_files: list[tuple[Path, str]]
) -> None:
    proc = await asyncio.create_subprocess_exec(
        *EDGE_AUDIO, "stream-file", str(librivox_files[0][0]), "--server", server.http,
        "--room", "main", "--lang", "en-US", "--speed", "1", "--quiet",
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                async with http.get(f"{server.http}/healthz") as r:
                    room = (await r.json())["rooms"].get("main")
                if room and room["audio_flowing"]:
                    break
                await asyncio.sleep(0.1)
            assert room is not None
            assert room["audio"] == "flowing"
            assert room["source"]["client"].startswith("edge-audio")
    finally:
        proc.terminate()
        await proc.wait()


async def test_backlog_survives_a_restart_and_ids_and_time_continue(
    tmp_path: Path, librivox_files: list[tuple[Path, str]], live_server: LiveServers
) -> None:
    state = tmp_path / "state"
    first = await live_server(make_settings(state))
    for wav, _ in librivox_files[1:3]:
        code, _, err = await run_edge_audio(first, wav, "--speed", "0", "--quiet")
        assert code == 0, err
    await first.stop()  # a restart on the same state, on purpose

    second = await live_server(make_settings(state))
    async with connect(f"{second.ws}/ws/captions/main?backlog=10&partials=0") as sub:
        assert (await recv_json(sub))["type"] == "status"
        backlog = [await recv_json(sub) for _ in range(2)]
    assert [m["type"] for m in backlog] == ["final", "final"]
    assert all(m["backlog"] for m in backlog)
    assert backlog[0]["segment"] < backlog[1]["segment"]
    assert backlog[0]["end"] <= backlog[1]["start"]
    async with connect(f"{second.ws}/ws/captions/main?backlog=1") as sub:
        await recv_json(sub)
        assert (await recv_json(sub))["segment"] == backlog[1]["segment"]

    code, _, err = await run_edge_audio(second, librivox_files[4][0], "--speed", "0")
    assert code == 0, err
    store = second.settings.state_dir / "rooms" / "main" / "transcript.jsonl"
    records = [json.loads(line) for line in store.read_text().splitlines()]
    assert len(records) == 3
    assert records[2]["segment"] > backlog[1]["segment"]
    assert records[2]["start"] >= backlog[1]["end"]


async def test_invalid_room_names_get_http_400_with_a_reason(server: LiveServer) -> None:
    async with aiohttp.ClientSession() as http:
        for path in (
            "/ws/audio/Main",
            "/ws/captions/a%20b",
            "/kiosk/-x",
            "/rooms/" + "x" * 40 + "/transcript.txt",
        ):
            async with http.get(server.http + path) as r:
                assert r.status == 400, path
                body = await r.json()
                assert body["code"] == "invalid_room"
                assert "invalid room name" in body["message"]
        async with http.get(server.http + "/ws/captions/main?backlog=lots") as r:
            assert r.status == 400
            assert (await r.json())["code"] == "invalid_parameter"
    code = await asyncio.create_subprocess_exec(
        *EDGE_AUDIO, "stream-file", "x.wav", "--server", server.http, "--room", "Bad!",
        "--lang", "en-US", stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert await code.wait() == 2


def test_edge_server_cli_reports_bad_configuration(tmp_path: Path) -> None:
    import subprocess

    config = tmp_path / "bad.toml"
    config.write_text("[rooms.a]\nsource_lang = 'klingon'\n")
    result = subprocess.run(
        [sys.executable, "-m", "edge_server.cli", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "rooms.a" in result.stderr
    assert "invalid language code" in result.stderr


async def test_a_room_that_falls_behind_says_so_everywhere(
    live_server: LiveServers, tmp_path: Path, librivox_files: list[tuple[Path, str]]
) -> None:
    """A recognizer whose pace rules call any lag "behind" (audio sent faster than real time
    always lags): the subscribers' status, /healthz and /metrics all say so, and the captions
    still come, in sentence case."""
    eager = PaceRules(slower_above_s=0.01, faster_below_s=0.0, hold_slower_s=0.0,
                      behind_above_s=0.01)  # fmt: skip

    def recognizer(name: str, room: object, server: object) -> PocketsphinxRecognizer:
        return PocketsphinxRecognizer(f"room {name}", pace=eager)

    live = await live_server(make_settings(tmp_path / "state"), recognizer_factory=recognizer)
    wav = librivox_files[0][0]
    async with connect(f"{live.ws}/ws/captions/main?backlog=0") as sub:
        assert (await recv_json(sub))["behind"] is False
        code, _, err = await run_edge_audio(live, wav, "--speed", "0")
        assert code == 0, err
        messages: list[dict] = []
        while not (
            any(m["type"] == "status" and m["behind"] for m in messages)
            and any(m["type"] == "final" for m in messages)
        ):
            messages.append(await recv_json(sub, timeout=30))
    finals = [m for m in messages if m["type"] == "final"]
    assert finals
    assert finals[0]["text"][0].isupper()
    assert finals[0]["text"].endswith(".")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{live.http}/healthz") as answer:
            room = (await answer.json())["rooms"]["main"]
        async with http.get(f"{live.http}/metrics") as answer:
            metrics = await answer.text()
    assert room["behind"] is True
    assert room["search"] in ("accurate", "fast", "fastest")  # a step applies between utterances
    assert room["recognizer_lag_s"] > 0
    assert 'edge_room_recognizer_behind{room="main"} 1.0' in metrics
    assert 'edge_room_recognizer_lag_seconds{room="main"}' in metrics

"""Bad clients get a clear error and close reason; the room keeps working and loses nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import wave
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.helpers.live_server import LiveServer, LiveServers, make_settings
from tests.helpers.wire import HELLO, open_audio, recv_json, wait_closed

pytestmark = pytest.mark.speech


def pcm_of(path: Path) -> bytes:
    with wave.open(str(path)) as w:
        return w.readframes(w.getnframes())


async def stream_pcm(ws: ClientConnection, pcm: bytes) -> None:
    for offset in range(0, len(pcm), 3200):
        await ws.send(pcm[offset : offset + 3200])


async def assert_room_still_works(server: LiveServer, pcm: bytes, sub: ClientConnection) -> None:
    """A fresh source can stream at once, and the subscriber that saw the trouble gets it."""
    ws, ready = await open_audio(server.ws, "main")
    assert ready["type"] == "ready", ready
    await stream_pcm(ws, pcm)
    await ws.send(json.dumps({"type": "end"}))
    while (msg := await recv_json(ws, 60))["type"] != "ended":
        pass
    assert msg["finals"] == 1
    await ws.close()
    while (live := await recv_json(sub, 60))["type"] != "final":
        pass
    assert "young man" in live["text"]


def hello_with(**changes: Any) -> dict[str, Any]:
    return HELLO | changes


BAD_FIRST_MESSAGES: list[tuple[str, Any, str, int]] = [
    ("not json", "this is not json", "bad_hello", 4000),
    ("json array", json.dumps([1, 2]), "bad_hello", 4000),
    ("not hello", json.dumps({"type": "end"}), "bad_hello", 4000),
    ("binary first", b"\0\0" * 100, "bad_hello", 4000),
    ("wrong rate", json.dumps(hello_with(sample_rate=44100)), "unsupported_format", 4001),
    ("stereo", json.dumps(hello_with(channels=2)), "unsupported_format", 4001),
    ("float", json.dumps(hello_with(format="f32le")), "unsupported_format", 4001),
    ("bad code", json.dumps(hello_with(language="english")), "unsupported_language", 4002),
    ("no model", json.dumps(hello_with(language="it-IT")), "unsupported_language", 4002),
]


@pytest.mark.parametrize(
    ("first", "code", "close_code"),
    [case[1:] for case in BAD_FIRST_MESSAGES],
    ids=[case[0] for case in BAD_FIRST_MESSAGES],
)
async def test_bad_first_message(
    server: LiveServer,
    librivox_files: list[tuple[Path, str]],
    first: str | bytes,
    code: str,
    close_code: int,
) -> None:
    async with connect(f"{server.ws}/ws/captions/main?backlog=0&partials=0") as sub:
        await recv_json(sub)
        async with connect(f"{server.ws}/ws/audio/main") as ws:
            await ws.send(first)
            error = await recv_json(ws)
            assert error == {"type": "error", "code": code, "message": error["message"]}
            assert len(error["message"]) > 10
            closed, reason = await wait_closed(ws)
            assert closed == close_code
            assert reason.startswith(code)
        await assert_room_still_works(server, pcm_of(librivox_files[1][0]), sub)


BAD_FRAMES = [
    ("odd length", b"\0" * 3201),
    ("one byte", b"\0"),
    ("empty", b""),
    ("oversized", b"\0" * 6402),
]


@pytest.mark.parametrize("frame", [f for _, f in BAD_FRAMES], ids=[n for n, _ in BAD_FRAMES])
async def test_bad_frame_mid_sentence_is_refused_and_what_came_before_is_finalized(
    server: LiveServer, librivox_files: list[tuple[Path, str]], frame: bytes
) -> None:
    pcm = pcm_of(librivox_files[1][0])
    async with connect(f"{server.ws}/ws/captions/main?backlog=0&partials=0") as sub:
        await recv_json(sub)
        ws, ready = await open_audio(server.ws, "main")
        assert ready["type"] == "ready"
        await stream_pcm(ws, pcm)  # a whole sentence, but no end: the utterance is open
        await ws.send(frame)
        messages = []
        while (msg := await recv_json(ws))["type"] != "error":
            messages.append(msg)
        assert msg["code"] == "bad_frame"
        closed, reason = await wait_closed(ws)
        assert closed == 4003
        assert "bad_frame" in reason
        # Nothing received was lost: the open utterance became a final, on disk and on screen.
        while (live := await recv_json(sub, 60))["type"] != "final":
            pass
        assert "young man" in live["text"]
        await assert_room_still_works(server, pcm, sub)


async def test_huge_message_closed_by_websocket_layer(server: LiveServer) -> None:
    ws, ready = await open_audio(server.ws, "main")
    assert ready["type"] == "ready"
    await ws.send(b"\0" * (65 * 1024))
    closed, _ = await wait_closed(ws)
    assert closed == 1009


async def test_second_source_is_refused_while_the_first_keeps_streaming(
    server: LiveServer, librivox_files: list[tuple[Path, str]]
) -> None:
    pcm = pcm_of(librivox_files[1][0])
    first, ready = await open_audio(server.ws, "main")
    assert ready["type"] == "ready"
    await stream_pcm(first, pcm[: len(pcm) // 2])

    second, answer = await open_audio(server.ws, "main")
    assert answer["type"] == "error"
    assert answer["code"] == "source_busy"
    assert "already has an audio source" in answer["message"]
    closed, reason = await wait_closed(second)
    assert closed == 4009
    assert reason.startswith("source_busy")

    # Another room is independent.
    other, other_ready = await open_audio(server.ws, "room-b")
    assert other_ready["type"] == "ready"
    await other.close()

    await stream_pcm(first, pcm[len(pcm) // 2 :])
    await first.send(json.dumps({"type": "end"}))
    finals = []
    while (msg := await recv_json(first, 60))["type"] != "ended":
        finals.append(msg)
    assert any("young man" in m["text"] for m in finals)


async def test_unknown_control_message_is_not_fatal(
    server: LiveServer, librivox_files: list[tuple[Path, str]]
) -> None:
    ws, _ = await open_audio(server.ws, "main")
    await ws.send(json.dumps({"type": "dance"}))
    warning = await recv_json(ws)
    assert warning["code"] == "unknown_type"
    await stream_pcm(ws, pcm_of(librivox_files[1][0]))
    await ws.send(json.dumps({"type": "end"}))
    while (msg := await recv_json(ws, 60))["type"] != "ended":
        pass
    assert msg["finals"] == 1


async def test_source_vanishing_mid_sentence_loses_nothing(
    server: LiveServer, librivox_files: list[tuple[Path, str]]
) -> None:
    async with connect(f"{server.ws}/ws/captions/main?backlog=0&partials=0") as sub:
        await recv_json(sub)
        ws, _ = await open_audio(server.ws, "main")
        await stream_pcm(ws, pcm_of(librivox_files[1][0]))
        ws.transport.abort()  # no close frame: a pulled cable
        while (live := await recv_json(sub, 60))["type"] != "final":
            pass
        assert "young man" in live["text"]
    transcript = server.settings.state_dir / "rooms" / "main" / "transcript.jsonl"
    assert "young man" in transcript.read_text()


async def test_recognizer_crash_is_reported_and_the_next_source_works(
    server: LiveServer, librivox_files: list[tuple[Path, str]]
) -> None:
    from edge_server.rooms.status_views import health as room_health
    from edge_server.web.app_keys import ROOMS

    pcm = pcm_of(librivox_files[1][0])
    async with connect(f"{server.ws}/ws/captions/main?backlog=0&partials=0") as sub:
        await recv_json(sub)
        ws, _ = await open_audio(server.ws, "main")
        await stream_pcm(ws, pcm[:32000])
        recognizer = server.app[ROOMS].get("main").recognizer
        worker = recognizer._worker  # type: ignore[attr-defined]
        os.kill(worker.proc.pid, signal.SIGKILL)
        error = await recv_json(ws)
        while error["type"] != "error":
            error = await recv_json(ws)
        assert error["code"] == "recognizer_failed"
        closed, _ = await wait_closed(ws)
        assert closed == 1011
        await assert_room_still_works(server, pcm, sub)
    health = room_health(server.app[ROOMS].get("main"))
    assert "recognizer" in (health["last_error"] or "")


async def test_subscriber_that_never_reads_is_dropped_without_stalling_others(
    tmp_path: Path, live_server: LiveServers
) -> None:
    from edge_server.web.app_keys import ROOMS

    live = await live_server(make_settings(tmp_path / "s", subscriber_queue=8))
    room = live.app[ROOMS].get("main")
    async with connect(f"{live.ws}/ws/captions/main?backlog=0", max_queue=1) as good:
        await recv_json(good)
        slow = await connect(f"{live.ws}/ws/captions/main?backlog=0", max_queue=1)
        slow.transport.pause_reading()  # never reads: the server's buffers fill
        noise = os.urandom(45000).hex()  # incompressible, in case deflate were on
        big = json.dumps({"type": "partial", "segment": 1, "text": noise})
        received = 0
        published = 0

        async def publish_and_read(count: int) -> None:
            nonlocal received, published
            for _ in range(count):
                room.broadcaster.publish(big, partial=True)
                published += 1
                await asyncio.sleep(0)
                while True:  # the good subscriber keeps up
                    try:
                        await asyncio.wait_for(good.recv(), 0.02)
                        received += 1
                    except TimeoutError:
                        break

        for _ in range(60):  # at most 600 messages (54 MB) before the slow one must go
            await publish_and_read(10)
            if len(room.broadcaster.subscribers) == 1:
                break
        assert len(room.broadcaster.subscribers) == 1, "the reader that never reads stays"
        await publish_and_read(10)
        assert received >= published - 2, (received, published)
    slow.transport.abort()

"""edge-audio stream-file against an in-process aiohttp peer speaking the audio uplink protocol."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from aiohttp import WSMsgType, web

from edge_audio import __version__
from edge_audio.cli import main
from edge_audio.link.uplink import (
    AudioUplink,
    ServerRefused,
    UplinkLost,
    UplinkSettings,
)
from edge_audio.pcm.pacing import Pacer
from edge_server.contract.audio_format import BYTES_PER_SECOND, WS_MAX_MESSAGE_BYTES
from edge_server.contract.terminal_text import format_clock, format_final
from edge_server.contract.uplink import ErrorCode, ProtocolError
from edge_server.contract.uplink_server import (
    AudioReceived,
    AudioUplinkProtocol,
    EndReceived,
    HelloReceived,
    Refused,
    UplinkState,
)
from edge_server.contract.urls import audio_url

STEP = 30  # seconds: the bound on every await in these tests
RESAMPLER_SLACK_BYTES = 64


# --- the peer ---------------------------------------------------------------------------------


@dataclass
class Peer:
    """The server side of docs/protocol.md "Audio uplink", scripted by ``mode``."""

    mode: str = "ok"  # ok | busy | fail_after_3 | drop_after_3 | no_ended | http_400
    max_frame_bytes: int = 6400
    hellos: list[dict[str, Any]] = field(default_factory=list)
    frames: list[bytes] = field(default_factory=list)
    refusals: list[ProtocolError] = field(default_factory=list)
    got_end: bool = False
    base: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.mode == "http_400":
            body = {"type": "error", "code": "invalid_room", "message": "no such room"}
            return web.json_response(body, status=400)
        ws = web.WebSocketResponse(max_msg_size=WS_MAX_MESSAGE_BYTES)
        await ws.prepare(request)
        proto = AudioUplinkProtocol(self.max_frame_bytes)
        room = request.match_info["room"]
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                if proto.state is UplinkState.AWAIT_HELLO:
                    self.hellos.append(json.loads(msg.data))
                events = proto.receive_text(msg.data)
            elif msg.type == WSMsgType.BINARY:
                events = proto.receive_binary(msg.data)
            else:
                break
            for event in events:
                if not await self.on_event(ws, room, event):
                    return ws
        return ws

    async def on_event(self, ws: web.WebSocketResponse, room: str, event: object) -> bool:
        match event:
            case HelloReceived():
                if self.mode == "busy":
                    await self.refuse(ws, ProtocolError(ErrorCode.SOURCE_BUSY, "room is busy"))
                    return False
                await ws.send_json(
                    {
                        "type": "ready",
                        "room": room,
                        "session": f"{room}-1",
                        "engine": "fake",
                        "language": "en-US",
                        "max_frame_bytes": self.max_frame_bytes,
                        "timeline_start": 12.5,
                    }
                )
            case AudioReceived(pcm=pcm):
                self.frames.append(pcm)
                if len(self.frames) == 3:
                    if self.mode == "fail_after_3":
                        error = ProtocolError(ErrorCode.RECOGNIZER_FAILED, "engine crashed")
                        await self.refuse(ws, error)
                        return False
                    if self.mode == "drop_after_3":
                        await ws.close(code=1000)
                        return False
                    await ws.send_json(self.final(room))
            case EndReceived():
                self.got_end = True
                if self.mode == "no_ended":
                    return True
                seconds = sum(len(f) for f in self.frames) / BYTES_PER_SECOND
                await ws.send_json({"type": "ended", "finals": 1, "audio_seconds": seconds})
                await ws.close(code=1000)
                return False
            case Refused(error=error):
                self.refusals.append(error)
                if error.fatal:
                    await self.refuse(ws, error)
                    return False
                await ws.send_json(error.to_message())
        return True

    @staticmethod
    async def refuse(ws: web.WebSocketResponse, error: ProtocolError) -> None:
        await ws.send_json(error.to_message())
        await ws.close(code=error.close_code, message=error.close_reason().encode())

    @staticmethod
    def final(room: str) -> dict[str, Any]:
        return {
            "type": "final",
            "room": room,
            "segment": 7,
            "text": "hello from the peer",
            "lang": "en-US",
            "start": 12.5,
            "end": 13.3,
            "engine": "fake",
            "translations": {"it": "ciao dal peer"},
            "wall": "2026-11-21T10:15:02.113Z",
        }

    @property
    def audio_bytes(self) -> int:
        return sum(len(f) for f in self.frames)


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    the_peer = Peer()
    app = web.Application()
    app.router.add_get("/ws/audio/{room}", the_peer.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    the_peer.base = f"http://{host}:{port}"
    yield the_peer
    await asyncio.wait_for(runner.cleanup(), STEP)


# --- fixtures and helpers ---------------------------------------------------------------------


def tone(rate: int, seconds: float = 1.0, freq: float = 440.0) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return (0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_wav(path: Path, rate: int, channels: int, subtype: str, seconds: float = 1.0) -> Path:
    mono = tone(rate, seconds)
    data = np.stack([mono * (1 - 0.5 * c) for c in range(channels)], axis=1)
    soundfile.write(path, data, rate, subtype=subtype)
    return path


async def run_cli(*args: str) -> tuple[int, float]:
    started = time.monotonic()
    code = await asyncio.wait_for(asyncio.to_thread(main, list(args)), STEP)
    return code, time.monotonic() - started


def stream_args(peer: Peer, path: Path) -> list[str]:
    return ["stream-file", str(path), "--server", peer.base, "--room", "main", "--lang", "en-US"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- streaming --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "channels", "subtype"),
    [
        (48000, 2, "FLOAT"),
        (44100, 1, "PCM_16"),
        (44100, 2, "PCM_24"),
        (22050, 1, "PCM_32"),
        (8000, 1, "PCM_16"),
        (16000, 1, "PCM_16"),
    ],
)
async def test_stream_file_sends_16k_mono_frames(peer, tmp_path, capsys, rate, channels, subtype):
    path = write_wav(tmp_path / f"in-{rate}-{channels}-{subtype}.wav", rate, channels, subtype)
    code, _ = await run_cli(*stream_args(peer, path), "--speed", "0")
    out = capsys.readouterr().out

    assert code == 0
    assert peer.refusals == []
    assert peer.got_end
    assert all(2 <= len(f) <= 3200 and len(f) % 2 == 0 for f in peer.frames)
    assert all(len(f) == 3200 for f in peer.frames[:-1])
    assert abs(peer.audio_bytes - BYTES_PER_SECOND) <= RESAMPLER_SLACK_BYTES
    assert peer.hellos == [
        {
            "type": "hello",
            "format": "s16le",
            "sample_rate": 16000,
            "channels": 1,
            "language": "en-US",
            "client": {"name": "edge-audio", "version": __version__},
        }
    ]
    assert "[00:12.5\u201300:13.3] hello from the peer" in out
    assert "it: ciao dal peer" in out
    assert f"done: {len(peer.frames)} frames, 1.0 s of audio, 1 final(s)" in out


async def test_16k_int16_file_arrives_bit_exact(peer, tmp_path):
    path = tmp_path / "exact.wav"
    ints = np.random.default_rng(3).integers(-32768, 32768, size=12345, dtype=np.int16)
    soundfile.write(path, ints, 16000, subtype="PCM_16")
    code, _ = await run_cli(*stream_args(peer, path), "--speed", "0", "--quiet")
    assert code == 0
    assert b"".join(peer.frames) == ints.astype("<i2").tobytes()


@pytest.mark.parametrize(("frame_ms", "frame_bytes"), [("20", 640), ("50", 1600)])
async def test_frame_ms_sets_the_frame_size(peer, tmp_path, frame_ms, frame_bytes):
    path = write_wav(tmp_path / "in.wav", 48000, 2, "FLOAT", seconds=0.5)
    code, _ = await run_cli(*stream_args(peer, path), "--speed", "0", "--frame-ms", frame_ms)
    assert code == 0
    assert {len(f) for f in peer.frames[:-1]} == {frame_bytes}
    assert 0 < len(peer.frames[-1]) <= frame_bytes


async def test_frames_shrink_to_the_servers_max_frame_bytes(peer, tmp_path):
    peer.max_frame_bytes = 1001
    path = write_wav(tmp_path / "in.wav", 16000, 1, "PCM_16", seconds=0.5)
    code, _ = await run_cli(*stream_args(peer, path), "--speed", "0")
    assert code == 0
    assert peer.refusals == []
    assert max(len(f) for f in peer.frames) == 1000


async def test_channel_selection_reaches_the_server(peer, tmp_path):
    path = tmp_path / "lr.wav"
    left, right = np.full(16000, 0.25, np.float32), np.full(16000, -0.5, np.float32)
    soundfile.write(path, np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    code, _ = await run_cli(*stream_args(peer, path), "--speed", "0", "--channel", "1")
    assert code == 0
    assert set(np.frombuffer(b"".join(peer.frames), "<i2").tolist()) == {-16384}


async def test_speed_one_is_real_time_and_speed_zero_is_fast(peer, tmp_path):
    path = write_wav(tmp_path / "one-second.wav", 48000, 2, "FLOAT", seconds=1.0)
    code, real_time = await run_cli(*stream_args(peer, path), "--speed", "1", "--quiet")
    assert code == 0
    peer.frames.clear()
    code, fast = await run_cli(*stream_args(peer, path), "--speed", "0", "--quiet")
    assert code == 0
    assert real_time >= 0.8
    assert fast < 0.5


# --- refusals and failures --------------------------------------------------------------------


async def test_source_busy_exits_3_with_the_servers_message(peer, tmp_path, capsys):
    peer.mode = "busy"
    path = write_wav(tmp_path / "in.wav", 16000, 1, "PCM_16")
    code, _ = await run_cli(*stream_args(peer, path))
    err = capsys.readouterr().err
    assert code == 3
    assert "source_busy: room is busy" in err
    assert "4009" in err
    assert peer.frames == []


async def test_server_error_while_streaming_exits_3_promptly(peer, tmp_path, capsys):
    peer.mode = "fail_after_3"
    path = write_wav(tmp_path / "in.wav", 16000, 1, "PCM_16", seconds=5.0)
    code, took = await run_cli(*stream_args(peer, path), "--speed", "1")
    err = capsys.readouterr().err
    assert code == 3
    assert "recognizer_failed: engine crashed" in err
    assert "1011" in err
    assert took < 3.0  # stopped at the error, did not stream the whole 5 s


async def test_connection_dropped_while_streaming_exits_4(peer, tmp_path, capsys):
    peer.mode = "drop_after_3"
    path = write_wav(tmp_path / "in.wav", 16000, 1, "PCM_16", seconds=2.0)
    code, _ = await run_cli(*stream_args(peer, path), "--speed", "2")
    err = capsys.readouterr().err
    assert code == 4
    assert "ws://127.0.0.1:" in err
    assert "/ws/audio/main" in err


async def test_nothing_listening_exits_4_naming_the_url(tmp_path, capsys):
    path = write_wav(tmp_path / "in.wav", 16000, 1, "PCM_16")
    url = f"http://127.0.0.1:{free_port()}"
    args = ["stream-file", str(path), "--server", url, "--room", "main", "--lang", "en-US"]
    code, _ = await run_cli(*args)
    err = capsys.readouterr().err
    assert code == 4
    assert url.replace("http://", "ws://") + "/ws/audio/main" in err


async def test_missing_file_exits_2_naming_it(peer, tmp_path, capsys):
    missing = tmp_path / "nope.wav"
    code, _ = await run_cli(*stream_args(peer, missing))
    err = capsys.readouterr().err
    assert code == 2
    assert str(missing) in err
    assert "no such file" in err
    assert peer.hellos == []


async def test_unreadable_file_exits_2_naming_it(peer, tmp_path, capsys):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not audio at all" * 10)
    code, _ = await run_cli(*stream_args(peer, junk))
    err = capsys.readouterr().err
    assert code == 2
    assert str(junk) in err
    assert peer.hellos == []


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--room", "Main", "invalid room name"),
        ("--room", "_x", "invalid room name"),
        ("--room", "a" * 33, "invalid room name"),
        ("--lang", "english", "invalid language code"),
        ("--frame-ms", "10", "20-100 ms"),
        ("--frame-ms", "abc", "frame-ms"),
        ("--speed", "-1", "speed"),
        ("--channel", "left", "channel"),
        ("--server", "ftp://x", "ftp://x"),
    ],
)
async def test_invalid_arguments_exit_2(peer, tmp_path, capsys, option, value, message):
    path = write_wav(tmp_path / "in.wav", 16000, 1, "PCM_16")
    args = stream_args(peer, path)
    if option in args:
        args[args.index(option) + 1] = value
    else:
        args += [option, value]
    code, _ = await run_cli(*args)
    assert code == 2
    assert message in capsys.readouterr().err
    assert peer.hellos == []


async def test_channel_out_of_range_exits_2(peer, tmp_path, capsys):
    path = write_wav(tmp_path / "in.wav", 48000, 2, "FLOAT")
    code, _ = await run_cli(*stream_args(peer, path), "--channel", "2")
    assert code == 2
    assert "channel 2 does not exist" in capsys.readouterr().err


async def test_help_exits_0(capsys):
    code, _ = await run_cli("stream-file", "--help")
    assert code == 0
    assert "--frame-ms" in capsys.readouterr().out


# --- the uplink directly ----------------------------------------------------------------------


async def one_frame() -> AsyncIterator[bytes]:
    yield b"\x00\x00" * 320


async def test_uplink_http_refusal_is_server_refused(peer):
    peer.mode = "http_400"
    settings = UplinkSettings(url=audio_url(peer.base, "main"), language="en-US")
    async with AudioUplink(settings) as uplink:
        with pytest.raises(ServerRefused) as info:
            await asyncio.wait_for(uplink.connect(), STEP)
    assert info.value.code == "invalid_room"
    assert info.value.close_code is None


async def test_uplink_end_times_out_without_ended(peer):
    peer.mode = "no_ended"
    settings = UplinkSettings(url=audio_url(peer.base, "main"), language=None, end_timeout=0.3)
    async with AudioUplink(settings) as uplink:
        ready = await asyncio.wait_for(uplink.connect(), STEP)
        assert ready.session == "main-1"
        assert ready.timeline_start == 12.5
        await asyncio.wait_for(uplink.send_frames(one_frame(), Pacer(0)), STEP)
        with pytest.raises(UplinkLost, match="no 'ended'"):
            await asyncio.wait_for(uplink.end(), STEP)
    assert "language" not in peer.hellos[0]


async def test_uplink_collects_finals_and_ended(peer):
    finals: list[dict[str, Any]] = []

    async def frames() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"\x01\x00" * 320

    settings = UplinkSettings(url=audio_url(peer.base, "main"), language="en-US")
    async with AudioUplink(settings, on_final=finals.append) as uplink:
        await asyncio.wait_for(uplink.connect(), STEP)
        await asyncio.wait_for(uplink.send_frames(frames(), Pacer(0)), STEP)
        ended = await asyncio.wait_for(uplink.end(), STEP)
    assert ended.finals == 1
    assert ended.audio_seconds == pytest.approx(0.1)
    assert [f["segment"] for f in finals] == [7]
    assert uplink.frames_sent == 5


# --- pure helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ("http://127.0.0.1:8080", "ws://127.0.0.1:8080/ws/audio/main"),
        ("http://127.0.0.1:8080/", "ws://127.0.0.1:8080/ws/audio/main"),
        ("https://captions.example:443", "wss://captions.example:443/ws/audio/main"),
        ("ws://host:1", "ws://host:1/ws/audio/main"),
        ("WSS://host", "wss://host/ws/audio/main"),
        ("host:9000", "ws://host:9000/ws/audio/main"),
        ("http://proxy/captions/", "ws://proxy/captions/ws/audio/main"),
    ],
)
def test_audio_url(server, expected):
    assert audio_url(server, "main") == expected


@pytest.mark.parametrize("server", ["ftp://host", "http://", "http://host/?a=1", "http://h/#x"])
def test_audio_url_refuses(server):
    with pytest.raises(ValueError, match="server URL"):
        audio_url(server, "main")


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "00:00.0"),
        (75.25, "01:15.2"),
        (59.96, "01:00.0"),
        (3723.04, "1:02:03.0"),
        (-1, "00:00.0"),
    ],
)
def test_format_clock(seconds, expected):
    assert format_clock(seconds) == expected


def test_format_final():
    text = format_final(Peer.final("main"))
    assert text.splitlines() == [
        "[00:12.5\u201300:13.3] hello from the peer",
        " " * 17 + " it: ciao dal peer",
    ]
    assert format_final({"type": "final", "text": "x"}) == "[?] x"

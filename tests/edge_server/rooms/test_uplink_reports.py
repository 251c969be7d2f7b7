"""What the audio node reports besides audio: device, signal level, gaps."""

from __future__ import annotations

import json

import aiohttp
from websockets.asyncio.client import connect

from tests.helpers.live_server import LiveServer, room_health
from tests.helpers.wire import HELLO, open_audio, recv_json

LEVEL = {
    "type": "level",
    "rms_dbfs": -23.4,
    "peak_dbfs": -5.0,
    "clipping": False,
    "silent_s": 0.0,
    "no_signal": False,
}


async def next_status(sub) -> dict:  # type: ignore[no-untyped-def]
    while (msg := await recv_json(sub))["type"] != "status":
        pass
    return msg


async def test_signal_level_reaches_status_and_health(server: LiveServer) -> None:
    async with connect(f"{server.ws}/ws/captions/main?backlog=0") as sub:
        first = await recv_json(sub)
        assert first["signal"] is None
        assert first["offline"] is False
        ws, ready = await open_audio(
            server.ws, "main", HELLO | {"device": "pipewire:alsa_input.usb-BEHRINGER_UMC204HD"}
        )
        assert ready["type"] == "ready"
        await next_status(sub)  # audio: connected
        await ws.send(json.dumps(LEVEL))
        status = await next_status(sub)
        assert status["signal"] == {
            "rms_dbfs": -24,
            "peak_dbfs": -6,
            "clipping": False,
            "no_signal": False,
        }
        room = await room_health(server)
        assert room["source"]["device"] == "pipewire:alsa_input.usb-BEHRINGER_UMC204HD"
        assert room["source"]["signal"]["rms_dbfs"] == -23.4

        # A small wobble does not resend status to every screen; a muted mixer does.
        await ws.send(json.dumps(LEVEL | {"rms_dbfs": -24.5}))
        await ws.send(json.dumps(LEVEL | {"rms_dbfs": -120, "peak_dbfs": -120,
                                          "silent_s": 12.0, "no_signal": True}))  # fmt: skip
        status = await next_status(sub)
        assert status["signal"]["no_signal"] is True
        assert (await room_health(server))["source"]["signal"]["silent_s"] == 12.0
        await ws.close()
        status = await next_status(sub)
        assert status["audio"] == "absent"
        assert status["signal"] is None


async def test_gap_moves_the_timeline_and_is_counted(server: LiveServer) -> None:
    ws, _ = await open_audio(server.ws, "main")
    for _ in range(20):  # 2 s of silence
        await ws.send(b"\0\0" * 1600)
    await ws.send(json.dumps({"type": "end"}))
    while (await recv_json(ws))["type"] != "ended":
        pass
    await ws.close()
    ws, ready = await open_audio(server.ws, "main")
    assert ready["timeline_start"] == 2.0
    await ws.send(json.dumps({"type": "gap", "dropped_s": 4.5, "offline_s": 10.0}))
    for _ in range(5):  # 0.5 s
        await ws.send(b"\0\0" * 1600)
    for _ in range(50):
        room = await room_health(server)
        if room["timeline_s"] >= 7.0:
            break
    assert room["timeline_s"] == 7.0  # 2 s + 4.5 s dropped + 0.5 s
    assert room["source"]["gaps"] == 1
    assert room["source"]["dropped_s"] == 4.5
    await ws.close()


async def test_bad_level_message_is_refused_and_the_room_stays(server: LiveServer) -> None:
    ws, _ = await open_audio(server.ws, "main")
    await ws.send(json.dumps(LEVEL | {"rms_dbfs": "loud"}))
    error = await recv_json(ws)
    assert error["code"] == "bad_message"
    # The refused source's session is still finishing: the next one waits, it is not refused.
    ws2, ready = await open_audio(server.ws, "main")
    assert ready["type"] == "ready"
    await ws2.close()


async def test_metrics_and_cost_in_health(server: LiveServer) -> None:
    ws, _ = await open_audio(server.ws, "main")
    await ws.send(json.dumps(LEVEL))
    for _ in range(10):
        await ws.send(b"\0\0" * 1600)
    await ws.send(json.dumps({"type": "end"}))
    while (await recv_json(ws))["type"] != "ended":
        pass
    room = await room_health(server)
    assert room["cost"]["usage"]["recognizer_minutes"] == {"pocketsphinx": 0.02}
    assert room["cost"]["usd"]["total"] == 0.0
    assert room["offline"] is False
    assert room["engine_switches"] == []
    async with aiohttp.ClientSession() as http, http.get(f"{server.http}/metrics") as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await r.text()
    assert 'edge_room_recognizer_audio_seconds_total{engine="pocketsphinx",room="main"} 1.0' in (
        text
    )
    assert 'edge_room_cost_usd{room="main",service="total"} 0.0' in text
    assert 'edge_room_offline{room="main"} 0.0' in text

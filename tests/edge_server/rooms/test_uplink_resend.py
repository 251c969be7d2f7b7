"""Resent audio over the real uplink: the room recognizes each sample of a stream once.

A real edge-server on 127.0.0.1 with a recognizer that records every byte it is given; audio
sources speak the wire protocol directly, so the overlap, the gap and the reconnect are exactly
what the test says. The audio is a numbered ramp (sample ``i`` has a value that follows from
``i``), so the recorded bytes show any sample missing, repeated or out of order.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection

from edge_server.contract.uplink import build_position
from edge_server.web.app_keys import ROOMS
from tests.helpers.live_server import LiveServer, LiveServers, make_settings, room_health
from tests.helpers.recording_engine import RecordingRecognizer, ramp
from tests.helpers.scripted_engine import word_audio
from tests.helpers.waiting import wait_for_async
from tests.helpers.wire import HELLO, open_audio, recv_json

STREAM = "node-a-0123456789"
OTHER = "node-b-0123456789"


async def start(live_server: LiveServers, state: Path) -> tuple[LiveServer, RecordingRecognizer]:
    recognizer = RecordingRecognizer()
    live = await live_server(
        make_settings(state, max_frame_bytes=16000, audio_idle_s=0.3),
        recognizer_factory=lambda name, room, server: recognizer,
    )
    return live, recognizer


async def connect(
    live: LiveServer, stream: str | None, client: str = "edge-audio"
) -> tuple[ClientConnection, dict[str, object]]:
    hello = HELLO | {"client": {"name": client, "version": "1"}}
    if stream is not None:
        hello["stream"] = stream
    ws, ready = await open_audio(live.ws, "main", hello)
    assert ready["type"] == "ready", ready
    return ws, ready


async def send(ws: ClientConnection, start: int, count: int, frame: int = 1600) -> None:
    """``position`` then ``count`` samples from ``start`` in frames of ``frame`` samples."""
    await ws.send(build_position(start))
    audio = ramp(start, count)
    for at in range(0, len(audio), frame * 2):
        await ws.send(audio[at : at + frame * 2])


async def end(ws: ClientConnection) -> dict[str, object]:
    await ws.send(json.dumps({"type": "end"}))
    while (message := await recv_json(ws))["type"] != "ended":
        assert message["type"] == "final", message
    await ws.close()
    return message


async def until_received(live: LiveServer, seconds: float, state: str = "flowing") -> None:
    async def reached() -> bool:
        health = await room_health(live)
        source = health["source"]
        return bool(source) and source["audio_seconds"] >= seconds and health["audio"] == state

    await wait_for_async(reached, 10.0, f"{seconds:g} s received, audio {state}", step=0.02)


async def test_a_partitioned_node_resends_with_overlap_and_nothing_is_heard_twice(
    tmp_path: Path, live_server: LiveServers
) -> None:
    live, recognizer = await start(live_server, tmp_path / "state")
    old, ready = await connect(live, STREAM)
    assert ready["stream"] == {"id": STREAM, "received": None}
    await send(old, 0, 16000)
    await until_received(live, 1.0)
    # The link dies without a close: the old connection just goes silent and is replaced.
    await until_received(live, 1.0, state="connected")
    new, ready = await connect(live, STREAM)
    assert ready["stream"] == {"id": STREAM, "received": 16000}
    assert ready["timeline_start"] == pytest.approx(1.0)
    # The last 0.47 s again, in frames that do not meet the old end on a boundary.
    await send(new, 8500, 23500, frame=1000)
    ended = await end(new)
    await old.close()
    assert bytes(recognizer.heard) == ramp(0, 32000)
    assert ended["audio_seconds"] == pytest.approx(1.0)  # only what was new
    room = live.app[ROOMS].get("main")
    assert room.clock.timeline == pytest.approx(2.0)
    assert room.clock.streams.end(STREAM) == 32000


async def test_audio_the_node_lost_moves_the_timeline_on(
    tmp_path: Path, live_server: LiveServers
) -> None:
    live, recognizer = await start(live_server, tmp_path / "state")
    first, _ = await connect(live, STREAM)
    await send(first, 0, 16000)
    await end(first)
    second, ready = await connect(live, STREAM)
    assert ready["stream"] == {"id": STREAM, "received": 16000}
    await send(second, 24000, 8000)  # 0.5 s the node had to drop
    await end(second)
    assert bytes(recognizer.heard) == ramp(0, 16000) + ramp(24000, 8000)
    room = live.app[ROOMS].get("main")
    assert room.clock.timeline == pytest.approx(2.0)
    third, ready = await connect(live, STREAM)
    assert ready["timeline_start"] == pytest.approx(2.0)
    await end(third)


async def test_a_restarted_server_knows_the_finalized_audio_from_the_transcript(
    tmp_path: Path, live_server: LiveServers
) -> None:
    """Each final on disk carries its stream and where its audio ends: a restarted server
    rebuilds its positions from them, answers ``ready`` with that end and drops what the node
    sends again of it (the final may never have reached the node)."""
    state = tmp_path / "state"
    live, first_recognizer = await start(live_server, state)
    ws, _ = await connect(live, STREAM)
    await send(ws, 0, 16000)
    await end(ws)
    await live.stop()
    lines = [json.loads(line) for line in (state / "rooms" / "main" / "transcript.jsonl").open()]
    assert [(r["stream"], r["stream_end"]) for r in lines] == [(STREAM, 16000)]
    again, recognizer = await start(live_server, state)
    room = again.app[ROOMS].get("main")
    # Internal: not in the backlog screens get, nor in what exports read.
    assert all("stream" not in r and "stream_end" not in r for r in room.store.backlog(10))
    assert all("stream" not in r and "stream_end" not in r for r in room.store.read_all())
    ws, ready = await connect(again, STREAM)
    assert ready["stream"] == {"id": STREAM, "received": 16000}
    await send(ws, 8000, 16000)
    await end(ws)
    assert bytes(first_recognizer.heard) == ramp(0, 16000)
    assert bytes(recognizer.heard) == ramp(16000, 8000)
    # Another stream (a new node process) is still taken whole.
    other, ready = await connect(again, OTHER)
    assert ready["stream"] == {"id": OTHER, "received": None}
    await end(other)


async def test_a_restarted_server_with_an_old_transcript_takes_everything(
    tmp_path: Path, live_server: LiveServers
) -> None:
    """Records written before positions were stored: no stream is known, as before."""
    state = tmp_path / "state"
    transcript = state / "rooms" / "main" / "transcript.jsonl"
    transcript.parent.mkdir(parents=True)
    old = {"segment": 1, "start": 0.0, "end": 1.0, "text": "w1", "lang": "en-US", "final": True}
    transcript.write_text(json.dumps(old) + "\n")
    live, recognizer = await start(live_server, state)
    ws, ready = await connect(live, STREAM)
    assert ready["stream"] == {"id": STREAM, "received": None}
    assert ready["timeline_start"] == pytest.approx(1.0)
    await send(ws, 8000, 16000)
    await end(ws)
    assert bytes(recognizer.heard) == ramp(8000, 16000)


async def test_after_another_node_took_over_each_stream_is_placed_on_its_own(
    tmp_path: Path, live_server: LiveServers
) -> None:
    live, recognizer = await start(live_server, tmp_path / "state")
    a, _ = await connect(live, STREAM)
    await send(a, 0, 16000)
    await end(a)
    b, ready = await connect(live, OTHER, client="spare-node")
    assert ready["stream"] == {"id": OTHER, "received": None}
    await send(b, 0, 8000)
    await end(b)
    a, ready = await connect(live, STREAM)  # the first node is back with what it had in flight
    assert ready["stream"] == {"id": STREAM, "received": 16000}
    await send(a, 8000, 16000)
    await end(a)
    # A node restarted: a new stream, taken whole from its start.
    restarted, ready = await connect(live, "node-a-restarted-1")
    assert ready["stream"] == {"id": "node-a-restarted-1", "received": None}
    await send(restarted, 0, 1600)
    await end(restarted)
    assert bytes(recognizer.heard) == (
        ramp(0, 16000) + ramp(0, 8000) + ramp(16000, 8000) + ramp(0, 1600)
    )


async def test_an_older_node_without_positions_is_taken_as_before(
    tmp_path: Path, live_server: LiveServers
) -> None:
    """No ``stream``: no ``stream`` in ready, and every frame is recognized as it comes, even
    the same audio twice (the server cannot tell, as before)."""
    live, recognizer = await start(live_server, tmp_path / "state")
    audio = ramp(0, 16000)
    for _ in range(2):
        ws, ready = await connect(live, None)
        assert "stream" not in ready
        for at in range(0, len(audio), 3200):
            await ws.send(audio[at : at + 3200])
        ended = await end(ws)
        assert ended["audio_seconds"] == pytest.approx(1.0)
    assert bytes(recognizer.heard) == audio + audio


async def test_a_frame_without_its_position_is_refused_and_the_room_goes_on(
    tmp_path: Path, live_server: LiveServers
) -> None:
    live, recognizer = await start(live_server, tmp_path / "state")
    ws, _ = await connect(live, STREAM)
    await ws.send(ramp(0, 1600))
    error = await recv_json(ws)
    assert (error["type"], error["code"]) == ("error", "bad_message")
    assert "position" in error["message"]
    await ws.close()
    ws, ready = await connect(live, STREAM)
    assert ready["stream"] == {"id": STREAM, "received": None}  # nothing was taken
    await send(ws, 0, 1600)
    await end(ws)
    assert bytes(recognizer.heard) == ramp(0, 1600)


async def test_finals_tell_a_positioned_node_where_their_audio_ends(
    tmp_path: Path, live_server: LiveServers
) -> None:
    """The ``stream_end`` of a final on the uplink is the sample of the node's stream where the
    final's audio ends: what a node resends to a server that restarted starts there."""
    live, _ = await start(live_server, tmp_path / "state")
    ws, _ = await connect(live, STREAM)
    await ws.send(build_position(4000))  # the stream began before this connection
    for n in (1, 2, 0):
        await ws.send(word_audio(n))
    final = await recv_json(ws)
    assert (final["type"], final["text"]) == ("final", "w1 w2")
    assert final["stream_end"] == 4000 + 16000  # two 0.5 s words
    assert final["end"] == pytest.approx(1.0)
    await end(ws)
    older, _ = await connect(live, None)
    for n in (3, 0):
        await older.send(word_audio(n))
    final = await recv_json(older)
    assert final["text"] == "w3"
    assert "stream_end" not in final
    await end(older)
    # Never on the captions socket: it is the node's business only.
    room = live.app[ROOMS].get("main")
    assert all("stream_end" not in record for record in room.store.read_all())

"""An audio node that reconnects after a network partition replaces its own stale connection
at once, instead of being refused as a second source until the old one's heartbeat expires.

The tests wait for the room's audio state in ``/healthz`` (``flowing``: a frame within
``audio_idle_s``; ``connected``: a source, silent for longer) instead of sleeping."""

from __future__ import annotations

import json
from pathlib import Path

from edge_server.web.app_keys import ROOMS
from tests.helpers.live_server import LiveServer, LiveServers, make_settings, room_health
from tests.helpers.scripted_engine import ScriptedRecognizer, word_audio
from tests.helpers.waiting import wait_for_async
from tests.helpers.wire import HELLO, open_audio, recv_json


async def wait_audio(live: LiveServer, state: str, received_s: float = 0.0) -> None:
    """Until the room's source is in audio ``state`` with ``received_s`` of audio taken."""

    async def reached() -> bool:
        health = await room_health(live)
        source = health["source"]
        return (
            health["audio"] == state
            and source is not None
            and source["audio_seconds"] >= received_s
        )

    await wait_for_async(reached, 10.0, f"audio {state} after {received_s:g} s", step=0.02)


async def test_same_node_replaces_its_silent_connection(
    tmp_path: Path, live_server: LiveServers
) -> None:
    recognizer = ScriptedRecognizer("scripted")
    live = await live_server(
        # Idle after 2 s without a frame: room enough to be refused while audio still flows,
        # even when connecting takes a while on a loaded machine.
        make_settings(tmp_path / "state", max_frame_bytes=16000, audio_idle_s=2.0),
        recognizer_factory=lambda name, r, s: recognizer,
    )
    old, ready = await open_audio(live.ws, "main")
    assert ready["type"] == "ready"
    for n in (1, 2):  # mid-sentence when the link dies
        await old.send(word_audio(n))
    await wait_audio(live, "flowing", received_s=1.0)  # both words arrived
    # Still flowing: a second connection is another source, refused.
    busy, answer = await open_audio(live.ws, "main")
    assert answer["code"] == "source_busy"
    await busy.close()
    # The old link goes silent (a partition: no close, no frames) beyond audio_idle_s.
    await wait_audio(live, "connected", received_s=1.0)
    new, ready = await open_audio(live.ws, "main")
    assert ready["type"] == "ready", ready
    # What the old connection sent was finalized, not lost.
    room = live.app[ROOMS].get("main")
    assert [r["text"] for r in room.store.read_all()] == ["w1 w2"]
    for n in (3, 0):
        await new.send(word_audio(n))
    final = await recv_json(new)
    assert (final["type"], final["text"]) == ("final", "w3")
    await new.send(json.dumps({"type": "end"}))
    assert (await recv_json(new))["type"] == "ended"
    await old.close()


async def test_another_client_does_not_replace_a_silent_source(
    tmp_path: Path, live_server: LiveServers
) -> None:
    live = await live_server(
        make_settings(tmp_path / "state", max_frame_bytes=16000, audio_idle_s=0.2),
        recognizer_factory=lambda name, r, s: ScriptedRecognizer("scripted"),
    )
    old, _ = await open_audio(live.ws, "main")
    await wait_audio(live, "connected")  # a source that sends nothing: silent, not flowing
    other = HELLO | {"client": {"name": "someone-else", "version": "1"}}
    intruder, answer = await open_audio(live.ws, "main", other)
    assert answer["code"] == "source_busy"
    await intruder.close()
    await old.close()

"""Resend in flight, end to end: the real audio node through a link cut like a Wi-Fi drop, into
a real edge-server whose recognizer records every byte it is given.

The link is :class:`~tests.helpers.pipewire_session.CuttableProxy` (while cut nothing passes and
nothing is closed; at the restore the old connections are reset). What the node had sent on the
dead connection never reaches the server; the node sends it again after the reconnect and the
room takes only what it lacks. The source speaks a numbered ramp, so the recorded audio shows
any sample missing, repeated or out of order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np

from edge_audio.node import AudioNode
from edge_audio.settings import NodeSettings
from edge_server.contract.systemd_notify import Notifier
from edge_server.web.app_keys import ROOMS
from tests.helpers.live_server import LiveServers, make_settings
from tests.helpers.pipewire_session import CuttableProxy
from tests.helpers.recording_engine import RecordingRecognizer, ramp
from tests.helpers.waiting import wait_until

BLOCK = 1600  # 100 ms at 16 kHz


class RampSource:
    """16 kHz mono float32 in 100 ms blocks at real time; the samples are :func:`ramp`'s."""

    sample_rate = 16000
    channels = 1
    label = "test:ramp"

    def __init__(self) -> None:
        self.blocks = 0

    async def __aiter__(self) -> AsyncIterator[np.ndarray]:
        while True:
            await asyncio.sleep(0.1)
            pcm = np.frombuffer(ramp(self.blocks * BLOCK, BLOCK), dtype="<i2")
            self.blocks += 1
            yield (pcm.astype(np.float32) / 32768.0).reshape(-1, 1)

    async def aclose(self) -> None:
        pass


async def test_audio_lost_on_a_dead_link_is_resent_and_heard_once(
    tmp_path: Path, live_server: LiveServers
) -> None:
    recognizer = RecordingRecognizer()
    live = await live_server(
        make_settings(tmp_path / "state"),
        recognizer_factory=lambda name, room, server: recognizer,
    )
    link = await CuttableProxy(int(live.http.rsplit(":", 1)[1])).start()
    source = RampSource()

    async def open_source() -> RampSource:
        return source

    settings = NodeSettings(
        server=link.url,
        room="main",
        language="en-US",
        ping_interval_s=0.5,
        ping_timeout_s=1.5,
        reconnect_max_s=0.5,
    )
    node = AudioNode(settings, open_source=open_source, notifier=Notifier({}))
    running = asyncio.create_task(node.run())
    room = None
    try:
        await wait_until(lambda: len(recognizer.heard) >= 2 * 16000, 20, "1 s of audio heard")
        link.cut()
        await wait_until(lambda: node.link.stats.state == "reconnecting", 20, "the link dead")
        await asyncio.sleep(1.0)
        room = live.app[ROOMS].get("main")
        received = room.clock.streams.end(node.link.stream_id)
        sent = node.link.history.end
        link.restore()
        await wait_until(lambda: node.link.stats.connects >= 2, 20, "the node back")
        await wait_until(
            lambda: len(recognizer.heard) >= 2 * (source.blocks - 5) * BLOCK,
            20,
            "the node caught up",
        )
    finally:
        node.stop()
        code = await asyncio.wait_for(running, 30)
        await link.close()
    assert code == 0
    # Audio really died on the dead link: sent, never received before the reconnect.
    assert received is not None
    assert sent is not None
    assert sent > received, (sent, received)
    samples = len(recognizer.heard) // 2
    assert bytes(recognizer.heard) == ramp(0, samples), "a sample missing, repeated or moved"
    # All but the block captured at the stop, and not a period of the ramp more.
    assert (source.blocks - 1) * BLOCK <= samples <= source.blocks * BLOCK
    assert node.link.stats.resent_s, node.link.stats
    assert room.clock.streams.end(node.link.stream_id) == samples
    assert node.buffer.dropped_bytes == 0

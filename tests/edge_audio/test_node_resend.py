"""Resend in flight, end to end: the real audio node through a link that loses everything for a
while, into a real edge-server whose recognizer records every byte it is given.

The link is a TCP proxy on 127.0.0.1 that, while "partitioned", swallows what either side sends
without closing anything (the node's audio vanishes as it would in a dead Wi-Fi link's buffers,
only more of it: the proxy acknowledges it) and refuses new connections. The source speaks a
numbered ramp, so the recorded audio shows any sample missing, repeated or out of order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np

from edge_audio.node import AudioNode
from edge_audio.settings import NodeSettings
from edge_server.contract.systemd_notify import Notifier
from edge_server.web.app_keys import ROOMS
from tests.helpers.live_server import LiveServers, make_settings
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


class LossyLink:
    """A TCP proxy to ``upstream`` that can be partitioned: then nothing passes either way,
    nothing is closed, and new connections are refused."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.partitioned = False
        self.swallowed = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._pumps: set[asyncio.Task[None]] = set()

    async def start(self) -> LossyLink:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.partitioned:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        self._writers += [writer, up_writer]
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(source, sink))
            self._pumps.add(task)
            task.add_done_callback(self._pumps.discard)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                if self.partitioned:
                    self.swallowed += len(data)
                    continue
                writer.write(data)
                await writer.drain()
            if not self.partitioned:  # a close in a partition never reaches the other side
                writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()
        for task in list(self._pumps):
            task.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)


async def test_audio_lost_on_a_dead_link_is_resent_and_heard_once(
    tmp_path: Path, live_server: LiveServers
) -> None:
    recognizer = RecordingRecognizer()
    live = await live_server(
        make_settings(tmp_path / "state", audio_idle_s=0.5),
        recognizer_factory=lambda name, room, server: recognizer,
    )
    port = int(live.http.rsplit(":", 1)[1])
    link = await LossyLink(port).start()
    source = RampSource()

    async def open_source() -> RampSource:
        return source

    settings = NodeSettings(
        server=link.url,
        room="main",
        language="en-US",
        ping_interval_s=0.5,
        ping_timeout_s=1.0,
        reconnect_max_s=0.5,
    )
    node = AudioNode(settings, open_source=open_source, notifier=Notifier({}))
    running = asyncio.create_task(node.run())
    try:
        await wait_until(lambda: len(recognizer.heard) >= 2 * 16000, 20, "1 s of audio heard")
        link.partitioned = True
        await asyncio.sleep(3.0)
        heard_at_cut = len(recognizer.heard)
        link.partitioned = False
        room = live.app[ROOMS].get("main")
        await wait_until(lambda: node.link.stats.connects >= 2, 20, "the node back")
        await wait_until(
            lambda: len(recognizer.heard) >= 2 * (source.blocks - 5) * BLOCK,
            20,
            "the node caught up",
        )
    finally:
        node.stop()
        code = await asyncio.wait_for(running, 30)
        await link.stop()
    assert code == 0
    samples = len(recognizer.heard) // 2
    assert bytes(recognizer.heard) == ramp(0, samples), "a sample missing, repeated or moved"
    # All but the block captured at the stop, and not a period of the ramp more.
    assert (source.blocks - 1) * BLOCK <= samples <= source.blocks * BLOCK
    # Audio really was lost on the dead link, and it came back from the node's history.
    assert link.swallowed > 0
    assert node.link.stats.resent_s, node.link.stats
    assert heard_at_cut < 2 * 4 * 16000  # the cut came before 4 s of audio
    assert room.clock.streams.end(node.link.stream_id) == samples
    assert node.buffer.dropped_bytes == 0

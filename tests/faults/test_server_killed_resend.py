"""The server SIGKILLed (or stopped) mid-sentence and restarted: the audio node sends again what
followed the last final it was told of, so the sentence being recognized at the kill is not
lost, and what the dead server had finalized is not repeated.

The server is the scripted one as a child process (so it can be killed for real); the audio node
is the real :class:`~edge_audio.node.AudioNode` in this process with a scripted source speaking
numbered words in real time (four words, a pause). The restarted server remembers no stream
positions; the node resends from the ``stream_end`` of the last ``final`` it received.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from edge_audio.node import AudioNode
from edge_audio.settings import NodeSettings
from edge_server.contract.systemd_notify import Notifier
from tests.faults.helpers import (
    MAIN_INTERPRETER_ONLY,
    SCRIPTED_SERVER,
    ServerProcess,
    free_port,
    read_transcript,
    wait_until,
    words_in,
)
from tests.faults.node_scripted import SLOT_S, WORDS_PER_SENTENCE, word_of_slot

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120), MAIN_INTERPRETER_ONLY]


class Words:
    """Numbered words in 0.5 s slots at real time (100 ms blocks); remembers what it said."""

    sample_rate = 16000
    channels = 1
    label = "scripted:words"

    def __init__(self) -> None:
        self.said: list[tuple[int, int, float]] = []
        """``(slot, word, monotonic time)`` of each slot begun (word 0: a pause)."""

    async def __aiter__(self) -> AsyncIterator[np.ndarray]:
        start, block = time.monotonic(), 0
        while True:
            slot, index = divmod(block, round(SLOT_S / 0.1))
            word = word_of_slot(slot)
            if index == 0:
                self.said.append((slot, word, time.monotonic()))
            block += 1
            await asyncio.sleep(max(0.0, start + block * 0.1 - time.monotonic()))
            yield np.full((1600, 1), word / 32768.0, dtype=np.float32)

    async def aclose(self) -> None:
        pass


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
async def test_a_sentence_under_way_at_a_server_restart_is_recognized_once(
    how: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SIGKILL: the dead server's recognizer took the sentence under way with it; the node
    resends it. SIGTERM: the server finalized what it had and said so by closing the stream;
    the node resends nothing (it cannot tell what the final it missed covered)."""
    port, state = free_port(), tmp_path / "state"
    transcript = state / "rooms" / "main" / "transcript.jsonl"
    first = ServerProcess(SCRIPTED_SERVER, port, state, tmp_path / "server-1.log")
    second = ServerProcess(SCRIPTED_SERVER, port, state, tmp_path / "server-2.log")
    words = Words()

    async def open_source() -> Words:
        return words

    settings = NodeSettings(server=first.http, room="main", language="en-US", reconnect_max_s=0.5)
    node = AudioNode(settings, open_source=open_source, notifier=Notifier({}))
    running: asyncio.Task[int] | None = None
    try:
        await first.start()
        running = asyncio.create_task(node.run())
        await wait_until(lambda: len(read_transcript(transcript)) >= 2, 30, "two finals")
        # Mid-sentence: the third word of a sentence has begun.
        await wait_until(
            lambda: words.said[-1][0] % (WORDS_PER_SENTENCE + 1) == 2, 10, "mid-sentence"
        )
        await asyncio.sleep(0.3)
        if how == "SIGKILL":
            await first.kill9()
        else:
            await first.stop()
        before = read_transcript(transcript)
        await asyncio.sleep(1.0)  # systemd's RestartSec
        await second.start()
        await wait_until(lambda: node.link.stats.connects >= 2, 30, "the node back")
        await wait_until(
            lambda: len(read_transcript(transcript)) >= len(before) + 3, 30, "finals again"
        )
        node.stop()
        assert await asyncio.wait_for(running, 30) == 0
    finally:
        node.stop()
        if running is not None and not running.done():
            running.cancel()
        await second.stop()
        await first.stop()
    stored = read_transcript(transcript)
    heard = words_in(stored)
    assert len(heard) == len(set(heard)), f"a word was finalized twice: {heard}"
    spoken = [w for _, w, _ in words.said if w]
    tail = set(spoken[-3:])  # being spoken at the stop: may be cut by the recognizer's chunks
    lost = [w for w in spoken if w not in set(heard) and w not in tail]
    under_way = words_in(stored[len(before) :])
    with capsys.disabled():
        print(
            f"\nserver {how} mid-sentence: {len(lost)} word(s) lost, "
            f"{len(heard) - len(set(heard))} repeated; resent {node.link.stats.resent_s} s "
            f"after the restart; {len(before)} finals before the kill, words "
            f"{under_way[:4]} finalized by the new server first"
        )
    assert lost == [], f"words lost: {lost}"
    if how == "SIGKILL":
        assert node.link.stats.resent_s, "nothing was resent to the restarted server"

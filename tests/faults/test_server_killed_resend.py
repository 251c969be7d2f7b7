"""The server SIGKILLed (or stopped) mid-sentence and restarted: the audio node sends again what
followed the last final it was told of, so the sentence being recognized at the kill is not
lost, and what the dead server had finalized is not repeated.

The server is the scripted one as a child process (so it can be killed for real); the audio node
is the real :class:`~edge_audio.node.AudioNode` in this process with a scripted source speaking
numbered words in real time (four words, a pause). The node resends from the ``stream_end`` of
the last ``final`` it received; the restarted server knows how far each stream's finals on disk
go (``stream``/``stream_end`` in the transcript records) and drops what it has finalized, even a
final written just before the kill that never reached the node.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

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


async def test_a_final_on_disk_but_never_sent_is_not_recognized_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The race: the server writes a final and is SIGKILLed before the node is sent it (made
    deterministic: the first server kills itself right after writing its third final). The
    node resends from the second final's ``stream_end``; the restarted server rebuilt its
    stream positions from the transcript, answers ``ready`` with the third final's end and
    drops that audio: every word once, none lost."""
    port, state = free_port(), tmp_path / "state"
    transcript = state / "rooms" / "main" / "transcript.jsonl"
    first = ServerProcess(SCRIPTED_SERVER, port, state, tmp_path / "server-1.log")
    second = ServerProcess(SCRIPTED_SERVER, port, state, tmp_path / "server-2.log")
    words = Words()
    told: list[dict[str, Any]] = []
    """The finals the node was sent."""

    async def open_source() -> Words:
        return words

    settings = NodeSettings(server=first.http, room="main", language="en-US", reconnect_max_s=0.5)
    node = AudioNode(settings, open_source=open_source, notifier=Notifier({}), on_final=told.append)
    running: asyncio.Task[int] | None = None
    try:
        await first.start(["--die-after-final", "3"])
        running = asyncio.create_task(node.run())
        assert first.proc is not None
        code = await asyncio.wait_for(first.proc.wait(), 60)
        assert code == -9, f"the first server was not SIGKILLed: {code}, {first.log_tail()}"
        before = read_transcript(transcript)
        assert len(before) == 3, before
        told_before = list(told)
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
    assert all(isinstance(r.get("stream_end"), int) for r in stored), stored[:4]
    heard = words_in(stored)
    spoken = [w for _, w, _ in words.said if w]
    tail = set(spoken[-3:])  # being spoken at the stop: may be cut by the recognizer's chunks
    lost = [w for w in spoken if w not in set(heard) and w not in tail]
    with capsys.disabled():
        print(
            f"\nserver SIGKILLed after writing final 3 (the node had been sent "
            f"{len(told_before)}): words of the unsent final {words_in(before[2:])}, "
            f"{len(heard) - len(set(heard))} repeated, {len(lost)} lost; resent "
            f"{node.link.stats.resent_s} s after the restart"
        )
    assert [f["segment"] for f in told_before] == [r["segment"] for r in before[:2]], (
        "the node was sent the third final: not the race"
    )
    assert before[2]["stream_end"] > told_before[-1]["stream_end"]
    assert len(heard) == len(set(heard)), f"a word was finalized twice: {heard}"
    assert lost == [], f"words lost: {lost}"
    assert node.link.stats.resent_s, "nothing was resent to the restarted server"

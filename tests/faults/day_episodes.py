"""The episodes of the conference day (``tests/faults/day_plan.Kind``), each played on a
running :class:`~tests.faults.day_run.Day`: it begins the fault, waits until the node's audio
reaches the episode's end, ends it, checks what the server said meanwhile, and returns one line
for the report."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable

from tests.faults.day_plan import Episode, Kind
from tests.faults.day_run import POLLY, VOICE_GRACE_S, Day


async def partition(day: Day, episode: Episode) -> str:
    day.netns.partition()
    cut = time.time()
    try:
        await day.until(episode.end_s, "the partition's end")
    finally:
        day.netns.heal()
    return f"link down {time.time() - cut:.1f} s wall"


async def server_restart(day: Day, episode: Episode) -> str:
    killed_at = time.time()
    day.killed_at_word.append(day.node_word())
    await day.servers[-1].kill9()
    await asyncio.sleep(1.0)  # systemd's RestartSec
    await day.start_server()
    return f"back listening after {time.time() - killed_at:.1f} s wall"


async def disk_full(day: Day, episode: Episode) -> str:
    filled = day.disk.fill()
    try:
        failing, noticed_s = await day.until_health(
            lambda room: room["storage"]["state"] == "failing", 60, "the storage alarm"
        )
        assert failing["storage"]["error"].startswith("ENOSPC"), failing["storage"]
        await day.until(episode.end_s, "the disk's end")
        held = (await day.room_health())["storage"]
    finally:
        day.disk.free()
    _, written_s = await day.until_health(
        lambda room: room["storage"]["state"] == "ok" and room["storage"]["unsaved"] == 0,
        60,
        "the held finals written",
    )
    assert held["dropped"] == 0, held
    return (
        f"filled with {filled / 2**20:.0f} MiB; /healthz said {failing['storage']['error']!r} "
        f"within {noticed_s:.1f} s; {held['unsaved']} finals held in memory when freed, "
        f"written {written_s:.1f} s later"
    )


async def polly_outage(day: Day, episode: Episode) -> str:
    day.polly.signal(signal.SIGUSR1)
    try:
        _, switched_s = await day.until_health(
            lambda room: room["synthesizer"] == "espeak" and room["voice_offline"] is True,
            60,
            "espeak-ng standing in for Polly",
        )
        await day.until(episode.end_s, "Polly's outage's end")
    finally:
        day.polly.signal(signal.SIGUSR2)
    _, back_s = await day.until_health(
        lambda room: room["synthesizer"] == POLLY and not room["voice_offline"],
        60,
        "Polly speaking again",
    )
    return (
        f"espeak-ng after {switched_s:.1f} s (grace {VOICE_GRACE_S:g} s), Polly back "
        f"{back_s:.1f} s after"
    )


Runner = Callable[[Day, Episode], Awaitable[str]]
RUNNERS: dict[Kind, Runner] = {
    Kind.PARTITION: partition,
    Kind.DISK_FULL: disk_full,
    Kind.POLLY_OUTAGE: polly_outage,
    Kind.SERVER_RESTART: server_restart,
}

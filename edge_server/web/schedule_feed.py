"""Reads the conference schedule (setting ``schedule``: a file or an ``http(s)://`` URL) at start
and every ``schedule_refresh_s``, into the rooms' :class:`~edge_server.core.talk_board.TalkBoard`.

A schedule that cannot be read (unreachable, slow, not XML, no events) is an ERROR in the log
(once per distinct failure), an alarm on ``/healthz`` and the status page; the last good
schedule stays in use and captions go on, with or without talk information.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web

from edge_server import __version__
from edge_server.core.schedule_xml import MAX_SCHEDULE_BYTES, ScheduleError, parse_schedule
from edge_server.core.settings import ServerSettings
from edge_server.core.talk_board import TalkBoard
from edge_server.core.wall_time import utc_now
from edge_server.web.app_keys import ROOMS, SETTINGS

log = logging.getLogger(__name__)


def is_url(source: str) -> bool:
    """True when the ``schedule`` setting is an http(s) URL (else it is a file path)."""
    return source.startswith(("http://", "https://"))


async def fetch_schedule(source: str, timeout_s: float) -> bytes:
    """The schedule document's bytes, or raise :class:`ScheduleError` saying why not."""
    if not is_url(source):
        try:
            return await asyncio.to_thread(Path(source).read_bytes)
        except OSError as exc:
            raise ScheduleError(f"cannot read the file: {exc}") from None
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    headers = {"User-Agent": f"edge-server/{__version__}", "Accept": "application/xml, text/xml"}
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout, headers=headers) as http,
            http.get(source) as response,
        ):
            if response.status != 200:
                raise ScheduleError(f"HTTP {response.status} {response.reason or ''}".strip())
            data = await response.content.read(MAX_SCHEDULE_BYTES + 1)
    except TimeoutError:
        raise ScheduleError(f"no complete answer within {timeout_s:g} s") from None
    except aiohttp.ClientError as exc:
        raise ScheduleError(f"cannot fetch: {exc}") from None
    return data


async def refresh_once(board: TalkBoard, settings: ServerSettings) -> bool:
    """Read and parse the schedule once into ``board``; True when it succeeded."""
    try:
        data = await fetch_schedule(settings.schedule, settings.schedule_timeout_s)
        schedule = await asyncio.to_thread(parse_schedule, data)
    except ScheduleError as exc:
        if board.failed(str(exc), utc_now("seconds")):
            kept = (
                f"keeping the last good one ({len(board.schedule.talks)} talks)"
                if board.schedule is not None
                else "rooms caption without talk information"
            )
            log.error("CANNOT READ THE SCHEDULE %s: %s; %s", settings.schedule, exc, kept)
        return False
    first = board.schedule is None or board.error is not None
    changed = board.schedule is None or board.schedule.talks != schedule.talks
    board.loaded(schedule, utc_now("seconds"))
    if first or changed:
        log.info(
            "schedule %s: %d talks in %d rooms (%s)",
            settings.schedule, len(schedule.talks), len(schedule.rooms),
            ", ".join(schedule.rooms),
        )  # fmt: skip
        for note in schedule.notes:
            log.warning("schedule %s: %s", settings.schedule, note)
    return True


async def _refresh_forever(board: TalkBoard, settings: ServerSettings) -> None:
    while True:
        await refresh_once(board, settings)
        await asyncio.sleep(settings.schedule_refresh_s)


async def schedule_lifecycle(app: web.Application) -> AsyncIterator[None]:
    """``cleanup_ctx``: refresh the schedule in the background while the app runs (the first
    read does not delay the start: a slow URL must not keep captions from starting)."""
    settings = app[SETTINGS]
    if not settings.schedule:
        yield
        return
    task = asyncio.create_task(
        _refresh_forever(app[ROOMS].talks, settings), name="schedule-refresh"
    )
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

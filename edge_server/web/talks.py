"""``GET /rooms/{room}/talks`` (the room's talks with their finals counted) and
``GET /rooms/{room}/talks/{talk_id}/transcript.{txt,srt,vtt,jsonl}`` (one talk's transcript,
``?lang=`` for a translation), cue times from the talk's scheduled start (plus the room's
``talk_offsets`` for that talk), so the file lines up with the talk's recording.

Besides the schedule's talks: ``between`` (finals outside any talk, in room times) and, when
there are any, ``unattributed`` (finals stored while the clock was not synchronized).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from aiohttp import web

from edge_server.core.talk_transcripts import (
    BETWEEN,
    UNATTRIBUTED,
    group_by_talk,
    relative_to_talk,
)
from edge_server.core.talks import Talk
from edge_server.rooms.room import Room
from edge_server.web.access import READ_ROLES, require_http
from edge_server.web.errors import json_error, room_or_400
from edge_server.web.transcripts import EXPORTERS, lang_or_400

FORMATS = ("txt", "srt", "vtt", "jsonl")


def _links(room: str, talk_id: str) -> dict[str, str]:
    base = f"/rooms/{quote(room)}/talks/{quote(talk_id)}/transcript"
    return {fmt: f"{base}.{fmt}" for fmt in FORMATS}


def _talk_entry(room: Room, talk: Talk, finals: int) -> dict[str, Any]:
    return talk.summary() | {
        "finals": finals,
        "offset_s": room.settings.talk_offsets.get(talk.id, 0.0),
        "links": _links(room.name, talk.id),
    }


async def _groups(room: Room) -> dict[str, list[Mapping[str, Any]]]:
    records = await asyncio.to_thread(room.store.all_records)
    return group_by_talk(records, room.talks.schedule, room.schedule_room, room.talks.clock_steps)


async def list_talks(request: web.Request) -> web.Response:
    """The room's talks (schedule order), each with its finals count and transcript links."""
    require_http(request, READ_ROLES)
    room = room_or_400(request)
    groups = await _groups(room)
    schedule = room.talks.schedule
    talks = schedule.room_talks(room.schedule_room) if schedule is not None else ()
    body: dict[str, Any] = {
        "room": room.name,
        "schedule_room": room.schedule_room,
        "error": room.talks.room_error(room.name, room.schedule_room),
        "clock_synchronized": room.talks.clock_synchronized,
        "talks": [_talk_entry(room, t, len(groups.get(t.id, []))) for t in talks],
        "between": {"finals": len(groups.get(BETWEEN, [])), "links": _links(room.name, BETWEEN)},
    }
    if groups.get(UNATTRIBUTED):
        body["unattributed"] = {
            "finals": len(groups[UNATTRIBUTED]),
            "links": _links(room.name, UNATTRIBUTED),
        }
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def talk_transcript(request: web.Request) -> web.Response:
    """One talk's transcript in ``fmt``, times relative to its scheduled start."""
    require_http(request, READ_ROLES)
    room = room_or_400(request)
    talk_id = request.match_info["talk_id"]
    fmt = request.match_info["fmt"]
    lang = lang_or_400(request)
    schedule = room.talks.schedule
    talk = schedule.talk(room.schedule_room, talk_id) if schedule is not None else None
    if talk is None and talk_id not in (BETWEEN, UNATTRIBUTED):
        why = room.talks.room_error(room.name, room.schedule_room) or "not in this room"
        raise json_error(web.HTTPNotFound, "unknown_talk", f"no talk {talk_id!r}: {why}")
    records = (await _groups(room)).get(talk_id, [])
    if talk is not None:
        offset = room.settings.talk_offsets.get(talk.id, 0.0)
        rows = relative_to_talk(records, talk, offset, room.talks.clock_steps)
    else:
        rows = [dict(r) for r in records]
    name = talk.slug if talk is not None else talk_id
    filename = f"{room.name}-{name}{'-' + lang if lang else ''}.{fmt}"
    headers = {"Content-Disposition": f'inline; filename="{filename}"'}
    if fmt == "jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        return web.Response(
            text=text, content_type="application/x-ndjson", charset="utf-8", headers=headers
        )
    render, content_type = EXPORTERS[fmt]
    return web.Response(
        text=render(rows, lang), content_type=content_type, charset="utf-8", headers=headers
    )

"""``GET /rooms/{room}/talks`` (the room's talks with their finals counted) and
``GET /rooms/{room}/talks/{talk_id}/transcript.{txt,srt,vtt,jsonl}`` (one talk's transcript,
``?lang=`` for a translation), cue times from the talk's scheduled start (plus the room's
``talk_offsets`` for that talk), so the file lines up with the talk's recording.

What is listed and cut is decided in :mod:`edge_server.core.talk_listing` (hubs answer the same
from Redis); :func:`talk_list_response` and :func:`talk_file_response` are shared with them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web

from edge_server.core.talk_listing import (
    RoomTalks,
    UnknownTalk,
    talk_filename,
    talk_list,
    talk_rows,
)
from edge_server.rooms.status_views import room_talks
from edge_server.web.access import READ_ROLES, require_http
from edge_server.web.errors import json_error, room_or_400
from edge_server.web.transcripts import EXPORTERS, lang_or_400


def talk_list_response(view: RoomTalks, records: Iterable[Mapping[str, Any]]) -> web.Response:
    """The room's talks (schedule order), each with its finals count and transcript links."""
    body = talk_list(view, view.group(records))
    return web.json_response(body, headers={"Cache-Control": "no-store"})


def talk_file_response(
    request: web.Request, view: RoomTalks, records: Iterable[Mapping[str, Any]]
) -> web.Response:
    """One talk's transcript in the format the URL names, times relative to its start."""
    talk_id = request.match_info["talk_id"]
    fmt = request.match_info["fmt"]
    lang = lang_or_400(request)
    try:
        talk, rows = talk_rows(view, talk_id, view.group(records))
    except UnknownTalk as exc:
        raise json_error(web.HTTPNotFound, "unknown_talk", str(exc)) from None
    filename = talk_filename(view.room, talk, talk_id, lang, fmt)
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


async def list_talks(request: web.Request) -> web.Response:
    """``GET /rooms/{room}/talks`` on a room server."""
    require_http(request, READ_ROLES)
    room = room_or_400(request)
    records = await asyncio.to_thread(room.store.all_records)
    return talk_list_response(room_talks(room), records)


async def talk_transcript(request: web.Request) -> web.Response:
    """``GET /rooms/{room}/talks/{talk_id}/transcript.{fmt}`` on a room server."""
    require_http(request, READ_ROLES)
    room = room_or_400(request)
    lang_or_400(request)  # a bad ?lang= is refused before the transcript is read
    records = await asyncio.to_thread(room.store.all_records)
    return talk_file_response(request, room_talks(room), records)

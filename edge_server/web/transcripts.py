"""``GET /rooms/{room}/transcript.{txt,srt,vtt,jsonl}``: a room's transcript, or a translation
of it with ``?lang=``.

While the disk refuses writes, exports still hold every final: the file's, then those held in
memory (marked ``"unsaved": true`` in ``jsonl``); the ``X-Unsaved-Finals`` header counts them.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from edge_server.contract.names import InvalidName, validate_language
from edge_server.core.exports import to_srt, to_txt, to_vtt
from edge_server.rooms.transcript import TranscriptStore
from edge_server.web.access import READ_ROLES, require_http
from edge_server.web.errors import json_error, room_or_400

UNSAVED_HEADER = "X-Unsaved-Finals"
"""How many of the exported finals are not on disk yet (held in memory)."""
EXPORTERS = {
    "txt": (to_txt, "text/plain"),
    "srt": (to_srt, "application/x-subrip"),
    "vtt": (to_vtt, "text/vtt"),
}


async def transcript_export(request: web.Request) -> web.StreamResponse:
    """``/rooms/{room}/transcript.{txt,srt,vtt,jsonl}``; ``?lang=xx`` exports a translation."""
    require_http(request, READ_ROLES)
    room = room_or_400(request)
    fmt = request.match_info["fmt"]
    unsaved = {UNSAVED_HEADER: str(len(room.store.unsaved.held))}
    if fmt == "jsonl":
        if room.store.unsaved.held:  # the file, then what the disk has not taken yet
            body = await asyncio.to_thread(_jsonl_with_held, room.store)
            return web.Response(body=body, content_type="application/x-ndjson", headers=unsaved)
        if not room.store.path.exists():
            return web.Response(text="", content_type="application/x-ndjson", headers=unsaved)
        return web.FileResponse(
            room.store.path, headers={"Content-Type": "application/x-ndjson", **unsaved}
        )
    lang = lang_or_400(request)
    render, content_type = EXPORTERS[fmt]
    records = await asyncio.to_thread(room.store.all_records)
    filename = f"{room.name}{'-' + lang if lang else ''}.{fmt}"
    return web.Response(
        text=render(records, lang),
        content_type=content_type,
        charset="utf-8",
        headers={"Content-Disposition": f'inline; filename="{filename}"', **unsaved},
    )


def lang_or_400(request: web.Request) -> str | None:
    """The export's ``?lang=`` (validated), None without it, or HTTP 400."""
    lang = request.query.get("lang")
    if lang is not None:
        try:
            validate_language(lang)
        except InvalidName as exc:
            raise json_error(web.HTTPBadRequest, "invalid_parameter", str(exc)) from None
    return lang


def _jsonl_with_held(store: TranscriptStore) -> bytes:
    data = store.path.read_bytes() if store.path.exists() else b""
    held = b"".join(
        json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        for r in store.held_records()
    )
    return data + held

"""``GET /rooms/{room}/talks`` and ``/rooms/{room}/talks/{talk_id}/transcript.{fmt}`` on a hub,
from what the room replicated: its talks document (:mod:`edge_server.core.replicated_talks`) and
the finals of its stream, listed and cut exactly as the room server does
(:mod:`edge_server.core.talk_listing`, :mod:`edge_server.web.talks`).

The stream holds the last ``replicate_maxlen`` finals of the room: a talk older than that has
fewer finals on the hub than on the Pi (its count in the list says so)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from edge_server.core.replicated_talks import TalksDocumentError, no_talks, room_talks_of
from edge_server.core.replication import record_of, stream_key, talks_key
from edge_server.core.talk_listing import RoomTalks
from edge_server.hub.keys import CONFERENCE, room_name_or_400
from edge_server.replication.connection import REDIS_FAILURES
from edge_server.web.access import READ_ROLES, require_http
from edge_server.web.errors import json_error
from edge_server.web.talks import talk_file_response, talk_list_response
from edge_server.web.transcripts import lang_or_400


async def _read(request: web.Request, name: str) -> tuple[RoomTalks, list[dict[str, Any]]]:
    """The room's talks and replicated finals; 404 for a room that does not replicate here,
    503 while Redis cannot be read, 502 for a talks document this hub cannot read."""
    conference = request.app[CONFERENCE]
    try:
        if not await conference.known(name):
            raise json_error(
                web.HTTPNotFound, "unknown_room", f"{name} does not replicate to this hub"
            )
        raw: Any = await conference.client.get(talks_key(name))
        entries: Any = await conference.client.xrange(stream_key(name))
    except REDIS_FAILURES:
        raise json_error(
            web.HTTPServiceUnavailable, "unavailable", "the hub cannot read Redis"
        ) from None
    try:
        view = no_talks(name) if raw is None else room_talks_of(raw, name)
    except TalksDocumentError as exc:
        raise json_error(web.HTTPBadGateway, "bad_replica", str(exc)) from None
    records = [r for _, fields in entries if (r := record_of(fields)) is not None]
    return view, records


async def list_talks(request: web.Request) -> web.Response:
    """The room's talks with their finals counted (as on the room server)."""
    require_http(request, READ_ROLES)
    view, records = await _read(request, room_name_or_400(request))
    return talk_list_response(view, records)


async def talk_transcript(request: web.Request) -> web.Response:
    """One talk's transcript, times from its scheduled start (as on the room server)."""
    require_http(request, READ_ROLES)
    name = room_name_or_400(request)
    lang_or_400(request)
    view, records = await _read(request, name)
    return talk_file_response(request, view, records)

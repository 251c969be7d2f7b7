"""What a hub application stores (``app[CONFERENCE]``), and the room name of a hub's URL."""

from __future__ import annotations

from aiohttp import web

from edge_server.contract.names import InvalidName, validate_room_name
from edge_server.hub.conference import Conference
from edge_server.web.errors import json_error

CONFERENCE = web.AppKey("conference", Conference)


def room_name_or_400(request: web.Request) -> str:
    """The room named in the URL (validated; the hub has no room objects), or HTTP 400."""
    try:
        return validate_room_name(request.match_info["room"])
    except InvalidName as exc:
        raise json_error(web.HTTPBadRequest, "invalid_room", str(exc)) from None

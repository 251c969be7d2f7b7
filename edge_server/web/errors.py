"""HTTP refusals with a JSON body that says what was wrong."""

from __future__ import annotations

import json

from aiohttp import web

from edge_server.contract.names import InvalidName
from edge_server.rooms.room import Room
from edge_server.web.app_keys import ROOMS


def json_error(
    status: type[web.HTTPException],
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
) -> web.HTTPException:
    """An HTTP error whose body is ``{"type": "error", "error", "code", "message"}``
    (``error`` and ``code`` are the same word)."""
    body = json.dumps({"type": "error", "error": code, "code": code, "message": message})
    return status(text=body, content_type="application/json", headers=headers)


def room_or_400(request: web.Request) -> Room:
    """The room named in the URL, or raise HTTP 400 ``invalid_room``."""
    try:
        return request.app[ROOMS].get(request.match_info["room"])
    except InvalidName as exc:
        raise json_error(web.HTTPBadRequest, "invalid_room", str(exc)) from None

"""``ROOM=`` on every log line of a request about a room (``/ws/audio/{room}``, ``/ws/captions/
{room}``, a room's status, settings and transcripts), for ``journalctl ROOM=...``.

A middleware: the field is set in the request's context for as long as its handler runs
(a WebSocket's whole life), and the tasks the handler starts inherit it. Names that are not
valid room names get no field (the handler refuses them anyway).
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from edge_server.contract.log_fields import log_fields
from edge_server.contract.names import InvalidName, validate_room_name


@web.middleware
async def room_log_fields(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Run ``handler`` with ``ROOM=`` the URL's room (when it names a valid one)."""
    name = request.match_info.get("room")
    if name is None:
        return await handler(request)
    try:
        room = validate_room_name(name)
    except InvalidName:
        return await handler(request)
    with log_fields(room=room):
        return await handler(request)

"""Typed keys for what the application stores (``app[ROOMS]``): settings, rooms, open sockets,
the start time."""

from __future__ import annotations

from aiohttp import web

from edge_server.core.refusals import RecentRefusals
from edge_server.core.settings import ServerSettings
from edge_server.rooms.registry import RoomRegistry
from edge_server.web.open_sockets import OpenSockets

SETTINGS = web.AppKey("settings", ServerSettings)
ROOMS = web.AppKey("rooms", RoomRegistry)
SOCKETS = web.AppKey("sockets", OpenSockets)
STARTED = web.AppKey("started_monotonic", float)
"""``time.monotonic()`` when the application was built (the status API's uptime)."""
REFUSED = web.AppKey("refused_subscribers", RecentRefusals)
"""Caption subscribers refused lately (the status page's list of kiosks with an old token)."""

"""Every WebSocket the server has open, so shutdown can close them with a reason."""

from __future__ import annotations

import weakref

from aiohttp import web


class OpenSockets:
    """Every WebSocket the server has open, so shutdown can close them with a reason."""

    def __init__(self) -> None:
        self._sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    def add(self, ws: web.WebSocketResponse) -> None:
        """Track a socket."""
        self._sockets.add(ws)

    def discard(self, ws: web.WebSocketResponse) -> None:
        """Stop tracking a socket."""
        self._sockets.discard(ws)

    def snapshot(self) -> list[web.WebSocketResponse]:
        """The sockets open now."""
        return list(self._sockets)

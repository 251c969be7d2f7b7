"""``edge-server follow ROOM``: print a room's captions in a terminal as they arrive.

A caption subscriber like the kiosk page, for the tech lead's laptop and for the demo. Finals
are printed one per line; on a terminal the current partial is shown on a line that updates.
Reconnects by itself with backoff when the server goes away.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any, TextIO

import websockets
from websockets.asyncio.client import connect

from edge_server.client_text import format_final, websocket_url

log = logging.getLogger(__name__)


def captions_url(server: str, room: str, backlog: int, partials: bool) -> str:
    """The captions WebSocket URL of ``room`` on ``server``."""
    query = {"backlog": str(backlog), "partials": str(int(partials))}
    return websocket_url(server, f"/ws/captions/{room}", query)


class CaptionPrinter:
    """Writes finals (and, on a terminal, the current partial) to ``out``."""

    def __init__(self, out: TextIO, show_partials: bool) -> None:
        self.out = out
        self.show_partials = show_partials
        self._partial_shown = False
        self.finals = 0

    def _clear_partial(self) -> None:
        if self._partial_shown:
            self.out.write("\r\x1b[2K")
            self._partial_shown = False

    def handle(self, message: dict[str, Any]) -> None:
        """Print what one caption message changes."""
        kind = message.get("type")
        if kind == "final":
            self._clear_partial()
            self.out.write(format_final(message) + "\n")
            self.finals += 1
        elif kind == "partial" and self.show_partials:
            self._clear_partial()
            text = str(message.get("text", ""))[-100:]
            if text:
                self.out.write(f"           … {text}")
                self._partial_shown = True
        elif kind == "status":
            self._clear_partial()
            self.out.write(
                f"# room {message.get('room')}: engine {message.get('engine')}, "
                f"audio {message.get('audio')}, translator {message.get('translator')}\n"
            )
        self.out.flush()


REFUSED_CLOSE_CODES = frozenset({4010, 4011, 4012})


async def follow(
    server: str, room: str, backlog: int, out: TextIO = sys.stdout, token: str | None = None
) -> None:
    """Print captions forever, reconnecting with backoff (1 s x 1.5, capped at 30 s).

    Exits (SystemExit) when the server refuses the token: retrying would not help.
    """
    headers = {"Authorization": f"Bearer {token}"} if token else None
    partials = out.isatty()
    printer = CaptionPrinter(out, show_partials=partials)
    url = captions_url(server, room, backlog, partials)
    delay = 1.0
    while True:
        try:
            async with connect(url, open_timeout=10, additional_headers=headers) as ws:
                log.info("following %s", url)
                delay = 1.0
                try:
                    async for raw in ws:
                        try:
                            message = json.loads(raw)
                        except ValueError:
                            log.warning("ignoring a message that is not JSON")
                            continue
                        if isinstance(message, dict):
                            printer.handle(message)
                finally:
                    if ws.close_code in REFUSED_CLOSE_CODES:
                        raise SystemExit(f"server refused: {ws.close_reason}")
                # Only the first connection replays the backlog.
                url = captions_url(server, room, 0, partials)
        except websockets.exceptions.InvalidStatus as exc:
            body = exc.response.body.decode(errors="replace") if exc.response.body else ""
            raise SystemExit(f"server refused: HTTP {exc.response.status_code} {body}") from None
        except (OSError, websockets.exceptions.WebSocketException, TimeoutError) as exc:
            log.warning("captions connection lost (%s); retrying in %.0f s", exc, delay)
        url = captions_url(server, room, 0, partials)
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 30.0)

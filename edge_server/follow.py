"""``edge-server follow ROOM``: print a room's captions in a terminal as they arrive.

A caption subscriber like the kiosk page, for the tech lead's laptop and for the demo. Finals
are printed one per line; on a terminal the current partial is shown on a line that updates.
Reconnects by itself with backoff when the server goes away.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import sys
from pathlib import Path
from typing import Any, TextIO

import websockets
from websockets.asyncio.client import connect

from edge_server.contract.backoff import Backoff, BackoffPolicy
from edge_server.contract.server_replies import (
    ServerMessageError,
    is_fatal,
    parse_server_message,
    refusal_from_close,
    refusal_from_http,
)
from edge_server.contract.terminal_text import format_final
from edge_server.contract.urls import captions_url

log = logging.getLogger(__name__)


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


def tls_context(ca_file: Path | None) -> ssl.SSLContext | None:
    """The context trusting a venue's own CA (``--ca-file``) for ``https://`` servers; None
    trusts the system's store. Raises SystemExit naming the file when it cannot be used."""
    if ca_file is None:
        return None
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SystemExit(f"cannot use the CA file {ca_file}: {detail}") from None


async def follow(
    server: str,
    room: str,
    backlog: int,
    out: TextIO = sys.stdout,
    token: str | None = None,
    ca_file: Path | None = None,
) -> None:
    """Print captions forever, reconnecting with the shared backoff (1 s x 1.5, capped at 30 s,
    with jitter).

    Exits (SystemExit) when the server refuses for a reason retrying cannot fix (a token, a bad
    request: :func:`~edge_server.contract.server_replies.is_fatal`), when the CA file cannot be
    read, or when the server's certificate is not trusted (``ca_file`` names the CA that signed
    it).
    """
    headers = {"Authorization": f"Bearer {token}"} if token else None
    context = tls_context(ca_file)
    tls: dict[str, Any] = (
        {"ssl": context} if context is not None and server.startswith("https://") else {}
    )
    partials = out.isatty()
    printer = CaptionPrinter(out, show_partials=partials)
    url = captions_url(server, room, backlog, partials)
    backoff = Backoff(BackoffPolicy())
    while True:
        why = "the server closed the connection"
        try:
            async with connect(url, open_timeout=10, additional_headers=headers, **tls) as ws:
                log.info("following %s", url)
                backoff.reset()
                try:
                    async for raw in ws:
                        try:
                            message = parse_server_message(raw)
                        except ServerMessageError as exc:
                            log.warning("ignoring a malformed message: %s", exc)
                            continue
                        printer.handle(message)
                finally:
                    _exit_if_refused(ws.close_code, ws.close_reason or "")
        except websockets.exceptions.InvalidStatus as exc:
            response = exc.response
            body = bytes(response.body or b"")
            refusal = refusal_from_http(response.status_code, response.reason_phrase, body)
            if refusal is not None and is_fatal(refusal[0], None):
                shown = body.decode(errors="replace")
                raise SystemExit(f"server refused: HTTP {response.status_code} {shown}") from None
            why = f"the server answered HTTP {response.status_code}"
        except ssl.SSLCertVerificationError as exc:
            hint = (
                "pass --ca-file with the CA that signed it"
                if ca_file is None
                else f"{ca_file} is not the CA that signed it"
            )
            raise SystemExit(
                f"the server's TLS certificate is not trusted ({exc.verify_message}); {hint}"
            ) from None
        except (OSError, websockets.exceptions.WebSocketException, TimeoutError) as exc:
            why = f"captions connection lost ({exc})"
        delay = backoff.next_delay()
        log.warning("%s; retrying in %.0f s", why, delay)
        # Only the first connection replays the backlog.
        url = captions_url(server, room, 0, partials)
        await asyncio.sleep(delay)


def _exit_if_refused(close_code: int | None, reason: str) -> None:
    """SystemExit when the server closed for a reason retrying cannot fix."""
    if close_code is None:
        return
    refusal = refusal_from_close(close_code, reason)
    if refusal is not None and is_fatal(refusal[0], close_code):
        raise SystemExit(f"server refused: {reason}")

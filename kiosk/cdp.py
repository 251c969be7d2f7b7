"""Chromium's DevTools protocol over ``--remote-debugging-pipe``: the browser reads commands on
its fd 3 and writes answers and events on its fd 4, each a JSON text ended by a NUL byte.

Only what the kiosk watchdog needs: send a command (to the browser, or to a page's flat session)
and await its answer, and hand events to a callback. Standard library only: the display Pi runs
this with Debian's python3, without the project's virtual environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

MAX_MESSAGE = 16 * 1024 * 1024
"""A message longer than this is a broken pipe, not an answer."""


class CdpError(Exception):
    """The browser answered a command with an error, or the pipe closed."""


class CdpPipe:
    """One browser's DevTools pipe (the parent's ends: we write to ``write_fd``, read
    ``read_fd``). Start :meth:`run` as a task; it ends when the browser closes its end."""

    def __init__(
        self,
        read_fd: int,
        write_fd: int,
        on_event: Callable[[dict[str, Any]], None] = lambda _event: None,
    ) -> None:
        self._read_fd = read_fd
        self._write_fd = write_fd
        self._on_event = on_event
        self._next_id = 0
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.closed = asyncio.Event()

    async def run(self) -> None:
        """Read messages until the pipe closes; answers resolve :meth:`call`, events go to the
        callback."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=MAX_MESSAGE)
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(self._read_fd, "rb", 0)
        )
        try:
            while True:
                try:
                    raw = await reader.readuntil(b"\0")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
                    break
                self._dispatch(raw[:-1])
        finally:
            transport.close()
            self._close()

    def _dispatch(self, raw: bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            log.warning("devtools pipe: not JSON, ignored: %r", raw[:200])
            return
        if not isinstance(message, dict):
            return
        waiter = self._waiting.pop(message["id"], None) if "id" in message else None
        if waiter is not None:
            if not waiter.done():
                waiter.set_result(message)
        elif "method" in message:
            self._on_event(message)

    def _close(self) -> None:
        self.closed.set()
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_exception(CdpError("the browser closed its DevTools pipe"))
        self._waiting.clear()
        with contextlib.suppress(OSError):
            os.close(self._write_fd)

    async def call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        """Send a command and return its ``result``; raise :class:`CdpError` on an error answer
        or a closed pipe. Callers bound the wait (``asyncio.wait_for``)."""
        if self.closed.is_set():
            raise CdpError("the browser closed its DevTools pipe")
        self._next_id += 1
        ident = self._next_id
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = waiter
        try:
            os.write(self._write_fd, json.dumps(message).encode() + b"\0")
        except OSError as exc:
            self._waiting.pop(ident, None)
            raise CdpError(f"cannot write to the DevTools pipe: {exc}") from None
        try:
            answer = await waiter
        finally:
            self._waiting.pop(ident, None)
        if "error" in answer:
            raise CdpError(f"{method}: {answer['error']}")
        result = answer.get("result", {})
        return result if isinstance(result, dict) else {}

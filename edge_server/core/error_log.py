"""A room's recent problems, oldest first, for ``/healthz`` and the status page. Pure."""

from __future__ import annotations

from collections import deque

from edge_server.core.wall_time import utc_now

RECENT_ERRORS = 20


class ErrorLog:
    """The latest problems of one room (bounded)."""

    def __init__(self, keep: int = RECENT_ERRORS) -> None:
        self._entries: deque[dict[str, str]] = deque(maxlen=keep)

    def add(self, message: str, at: str | None = None) -> None:
        """Record a problem (``at``: when, default now)."""
        if message:
            self._entries.append({"at": at or utc_now(), "message": message})

    @property
    def last(self) -> str | None:
        """The latest problem's message, or None."""
        return self._entries[-1]["message"] if self._entries else None

    def entries(self) -> list[dict[str, str]]:
        """Every kept problem, oldest first: ``{"at": ISO time, "message"}``."""
        return list(self._entries)

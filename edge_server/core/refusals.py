"""Recent refusals of caption subscribers (a kiosk whose token was rotated away). Pure.

The status page lists them so the tech lead sees at once which screen still has an old token:
one entry per (address, room, client), with the first and last time, the count and the reason,
newest first, at most :data:`MAX_ENTRIES`, forgotten after :data:`KEEP_S` without a new one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

MAX_ENTRIES = 20
"""Distinct refused subscribers remembered (the oldest goes first)."""
KEEP_S = 3600.0
"""A refusal not repeated for this long is forgotten (the screen got its new token, or left)."""
CLIENTS = frozenset({"kiosk", "listener"})
"""Kinds of page that say what they are (``?client=``); anything else is recorded as unknown."""


@dataclass(frozen=True)
class RefusedSubscriber:
    """One refused caption subscriber."""

    address: str
    room: str
    client: str
    """``kiosk``, ``listener`` or ``unknown`` (the page's ``?client=``)."""
    reason: str
    """The refusal's error code, e.g. ``token_wrong``."""
    first_at: float
    last_at: float
    """Wall-clock seconds (``time.time()``)."""
    count: int = 1

    def as_json(self) -> dict[str, object]:
        """The status API's form of this entry."""
        return {
            "address": self.address,
            "room": self.room,
            "client": self.client,
            "reason": self.reason,
            "first_at": round(self.first_at, 1),
            "last_at": round(self.last_at, 1),
            "count": self.count,
        }


def client_kind(value: str | None) -> str:
    """The recorded kind of client for a ``?client=`` value (never the raw value)."""
    return value if value in CLIENTS else "unknown"


class RecentRefusals:
    """The refused subscribers of the last hour, bounded."""

    def __init__(self, max_entries: int = MAX_ENTRIES, keep_s: float = KEEP_S) -> None:
        self.max_entries = max_entries
        self.keep_s = keep_s
        self._entries: dict[tuple[str, str, str], RefusedSubscriber] = {}

    def record(self, address: str, room: str, client: str, reason: str, now: float) -> None:
        """Remember (or count again) one refusal."""
        key = (address[:64], room[:64], client_kind(client))
        known = self._entries.pop(key, None)
        if known is None:
            entry = RefusedSubscriber(*key, reason=reason[:40], first_at=now, last_at=now)
        else:
            entry = replace(known, reason=reason[:40], last_at=now, count=known.count + 1)
        self._entries[key] = entry  # re-inserted: the dict's order is oldest first
        while len(self._entries) > self.max_entries:
            del self._entries[next(iter(self._entries))]

    def recent(self, now: float) -> list[RefusedSubscriber]:
        """Entries seen within ``keep_s``, newest first (older ones are dropped)."""
        for key in [k for k, e in self._entries.items() if now - e.last_at > self.keep_s]:
            del self._entries[key]
        return sorted(self._entries.values(), key=lambda e: e.last_at, reverse=True)

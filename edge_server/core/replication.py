"""Replication of a room's finals to Redis, and what the hub reads back: the decisions, no I/O.

The room's transcript is the source of truth; Redis holds a copy. Every final becomes one entry
of the room's stream whose id is derived from its segment (``<segment>-0``), so Redis itself
refuses a second copy of a final (an XADD with an id at or below the stream's last one fails):
a replicator that resends after a crash, a lost reply or a restart cannot duplicate anything.
What to send next is "every final after the stream's last id, in segment order".

Keys (one Redis may serve a whole conference): ``edge:rooms`` (the set of room names),
``edge:room:{room}:finals`` (the stream), ``edge:room:{room}:status`` (the room's last status,
JSON, with the wall time it was written so the hub can mark a silent room stale),
``edge:room:{room}:talks`` (the room's talks, written when they change: see
:mod:`.replicated_talks`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOMS_KEY = "edge:rooms"
"""The set of rooms that replicate to this Redis."""
FINAL_FIELD = "final"
"""The stream entry's field holding the final as JSON (as in the transcript file)."""
URL_SCHEMES = ("redis", "rediss")
DEFAULT_MAXLEN = 100_000
"""Default bound of a room's stream (about 3 weeks of talks at one final every 5 s)."""
UNSAVED_FIELD = "unsaved"


class ReplicationUrlError(ValueError):
    """A ``replicate_to`` / hub Redis address that cannot be used; the message says why."""


def stream_key(room: str) -> str:
    """The stream of ``room``'s finals."""
    return f"edge:room:{room}:finals"


def status_key(room: str) -> str:
    """The key of ``room``'s last status (JSON)."""
    return f"edge:room:{room}:status"


def talks_key(room: str) -> str:
    """The key of ``room``'s talks (JSON, :mod:`.replicated_talks`)."""
    return f"edge:room:{room}:talks"


def entry_id(segment: int) -> str:
    """The stream id of a final: its segment, sequence 0."""
    if segment < 1:
        raise ValueError(f"segment {segment} is not a final's segment (1 or more)")
    return f"{segment}-0"


def segment_of(stream_id: str | bytes) -> int:
    """The segment of a stream id (``"17-0"`` → 17); 0 for ``"0-0"`` (an empty stream)."""
    text = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
    head, _, _ = text.partition("-")
    return int(head)


def check_url(url: str) -> str:
    """``url`` if it is a ``redis://`` or ``rediss://`` address with a host, else raise."""
    parts = urlsplit(url)
    if parts.scheme not in URL_SCHEMES:
        raise ReplicationUrlError(
            f"{redact_url(url)!r} must start with redis:// or rediss:// (TLS)"
        )
    if not parts.hostname:
        raise ReplicationUrlError(f"{redact_url(url)!r} names no host")
    try:
        _ = parts.port
    except ValueError:
        raise ReplicationUrlError(f"{redact_url(url)!r} has an invalid port") from None
    return url


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for logs and status pages)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unreadable address)"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{user}:***@{host}" + (f":{port}" if port is not None else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def entry_fields(record: Mapping[str, Any]) -> dict[str, str]:
    """The stream entry of a final: the transcript's record as JSON, without the Pi's
    ``unsaved`` mark (that is about the Pi's disk, not about the final)."""
    clean = {k: v for k, v in record.items() if k != UNSAVED_FIELD}
    return {FINAL_FIELD: json.dumps(clean, ensure_ascii=False, separators=(",", ":"))}


def record_of(fields: Mapping[Any, Any] | None) -> dict[str, Any] | None:
    """The final of a stream entry, or None if the entry is not one of ours."""
    if fields is None:
        return None
    raw = fields.get(FINAL_FIELD, fields.get(FINAL_FIELD.encode()))
    if raw is None:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("segment"), int):
        return None
    return record


def pending(records: Iterable[Mapping[str, Any]], after: int, limit: int) -> list[dict[str, Any]]:
    """What to send next: the finals after segment ``after``, in segment order, one per segment
    (the first seen wins: a final held in memory and then written is the same final), at most
    ``limit``."""
    chosen: dict[int, dict[str, Any]] = {}
    for record in records:
        segment = record.get("segment")
        if isinstance(segment, int) and segment > after and segment not in chosen:
            chosen[segment] = dict(record)
    return [chosen[s] for s in sorted(chosen)[:limit]]


def is_duplicate_error(message: str) -> bool:
    """True when Redis refused an XADD because the id is at or below the stream's last one:
    the final is already there (or was trimmed after being there)."""
    return "equal or smaller than the target stream top item" in message


@dataclass
class ReplicationState:
    """What the room's status page and ``/healthz`` say about replication."""

    target: str
    """The Redis address, password redacted."""
    state: str = "connecting"
    """``connecting``, ``ok`` (caught up or sending) or ``failing`` (Redis unreachable, wrong
    password...: finals wait on the Pi's disk)."""
    error: str | None = None
    """The last failure, in words."""
    sent_through: int = 0
    """The last segment Redis holds."""
    newest: int = 0
    """The room's last segment."""
    failing_since: float | None = None
    """Wall time of the first failure of the current outage."""

    @property
    def behind(self) -> int:
        """How many segments are not in Redis yet (an upper bound: ids may skip)."""
        return max(0, self.newest - self.sent_through)

    def report(self) -> dict[str, Any]:
        """As JSON for the status API."""
        return {
            "target": self.target,
            "state": self.state,
            "error": self.error,
            "sent_through": self.sent_through,
            "behind": self.behind,
            "failing_since": self.failing_since,
        }

    def alarm(self, room: str) -> str | None:
        """The status page's alarm line, or None while replication works."""
        if self.state != "failing":
            return None
        return (
            f"room {room}: replication to {self.target} failing ({self.error}); "
            f"{self.behind} finals wait on the Pi and are sent when it answers"
        )


@dataclass(frozen=True)
class RoomOverview:
    """One room on the hub's conference overview."""

    room: str
    status: dict[str, Any]
    age_s: float | None
    """Seconds since the room last wrote its status (None: never)."""
    stale: bool
    """No status for longer than the hub's ``hub_stale_s``: the Pi or its link is down."""
    alarms: tuple[str, ...]


def overview(room: str, raw_status: str | bytes | None, now: float, stale_s: float) -> RoomOverview:
    """A room's line on the overview from its status key (JSON written by the room)."""
    status: dict[str, Any] = {}
    if raw_status is not None:
        try:
            parsed = json.loads(raw_status)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            status = parsed
    written = status.get("written")
    age = now - float(written) if isinstance(written, (int, float)) else None
    stale = age is None or age > stale_s
    alarms = [str(a) for a in status.get("alarms", []) if isinstance(a, str)]
    if stale:
        alarms.insert(
            0,
            f"room {room}: no status for {age:.0f} s (Pi off or cut off)"
            if age is not None
            else f"room {room}: has never sent a status",
        )
    return RoomOverview(room, status, age, stale, tuple(alarms))


def room_alarms(screen: Mapping[str, Any]) -> list[str]:
    """Audio alarms from a room's screen ``status`` message (for the overview)."""
    alarms = []
    room = screen.get("room", "?")
    if screen.get("audio") == "absent":
        alarms.append(f"room {room}: no audio source connected")
    elif screen.get("audio") == "connected":
        alarms.append(f"room {room}: audio source connected but no audio flowing")
    signal = screen.get("signal")
    if isinstance(signal, dict):
        if signal.get("no_signal"):
            alarms.append(f"room {room}: no signal (the source is silent)")
        if signal.get("clipping"):
            alarms.append(f"room {room}: clipping")
    if screen.get("offline"):
        alarms.append(f"room {room}: on the offline engine")
    return alarms


def wall_clock() -> float:
    """Seconds since the epoch (the status keys' ``written``): a seam for tests."""
    return time.time()

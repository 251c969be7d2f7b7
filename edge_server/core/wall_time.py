"""Wall-clock time as the server writes it everywhere (transcript, errors, switches, costs)."""

from __future__ import annotations

import datetime as dt


def utc_now(timespec: str = "milliseconds") -> str:
    """Now as an ISO 8601 UTC time ending in ``Z`` (``2026-12-03T08:00:00.000Z``), to
    ``timespec`` (``"seconds"``, ``"milliseconds"``)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec=timespec).replace("+00:00", "Z")

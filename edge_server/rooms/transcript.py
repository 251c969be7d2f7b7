"""A room's transcript on disk: an append-only JSON-lines file of finals, flushed per line.

Every final is written (and, by default, fsync'ed: the SD card may lose power at any moment)
before anyone sees it. On start the file is read back for the backlog, the next segment id and
the room's timeline. A torn last line (power cut mid-write) is moved aside to a ``.torn-*`` file,
never silently dropped, and the file is cut back to its last whole line so appends stay valid.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import time
from pathlib import Path
from typing import Any, BinaryIO

log = logging.getLogger(__name__)


def parse_transcript(data: bytes) -> tuple[list[dict[str, Any]], int]:
    """Records from whole lines of a transcript, and how many lines were unreadable."""
    records: list[dict[str, Any]] = []
    bad = 0
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if isinstance(record, dict) and isinstance(record.get("segment"), int):
            records.append(record)
        else:
            bad += 1
    return records, bad


class TranscriptStore:
    """The transcript file of one room plus its recent finals in memory."""

    def __init__(self, path: Path, *, backlog_size: int = 500, fsync: bool = True) -> None:
        self.path = path
        self.fsync = fsync
        self.recent: collections.deque[dict[str, Any]] = collections.deque(maxlen=backlog_size)
        self.count = 0
        self.last_segment = 0
        self.last_end = 0.0
        self._file: BinaryIO | None = None
        self._lock = asyncio.Lock()

    def load(self) -> None:
        """Read the existing file (if any), repair a torn tail, and open it for appending."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = self.path.read_bytes() if self.path.exists() else b""
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            torn = self.path.with_name(f"{self.path.name}.torn-{int(time.time())}")
            torn.write_bytes(data[cut:])
            with self.path.open("r+b") as handle:
                handle.truncate(cut)
            log.warning(
                "%s: moved a torn last line (%d bytes) to %s", self.path, len(data) - cut, torn
            )
            data = data[:cut]
        records, bad = parse_transcript(data)
        if bad:
            log.warning("%s: skipped %d unreadable lines", self.path, bad)
        for record in records:
            self._remember(record)
        self._file = self.path.open("ab")

    def _remember(self, record: dict[str, Any]) -> None:
        self.recent.append(record)
        self.count += 1
        self.last_segment = max(self.last_segment, int(record["segment"]))
        self.last_end = max(self.last_end, float(record.get("end", 0.0)))

    def _write(self, line: bytes) -> None:
        assert self._file is not None, "load() first"
        self._file.write(line)
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())

    async def append(self, record: dict[str, Any]) -> None:
        """Write one final durably (off the event loop), then keep it for the backlog."""
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        async with self._lock:
            await asyncio.to_thread(self._write, line)
            self._remember(record)

    def backlog(self, limit: int) -> list[dict[str, Any]]:
        """The last ``limit`` finals, oldest first."""
        if limit <= 0:
            return []
        items = list(self.recent)
        return items[-limit:]

    def read_all(self) -> list[dict[str, Any]]:
        """Every final in the file (blocking: call it in a thread for large files)."""
        if not self.path.exists():
            return []
        records, _ = parse_transcript(self.path.read_bytes())
        return records

    def close(self) -> None:
        """Close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None

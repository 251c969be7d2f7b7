"""A room's transcript on disk: an append-only JSON-lines file of finals, flushed per line.

**When the disk works**, every final is written (and, by default, fsync'ed: the SD card may lose
power at any moment) before anyone sees it. On start the file is read back for the backlog, the
next segment id and the room's timeline. A torn last line (power cut mid-write) is moved aside
to a ``.torn-*`` file, never silently dropped, and the file is cut back to its last whole line
so appends stay valid.

**When it does not** (``ENOSPC``, a read-only remount, ``EIO``: any ``OSError`` from open, write
or fsync), :meth:`TranscriptStore.append` does not raise: the final is held in memory, in order,
marked ``"unsaved": true`` (see :mod:`edge_server.core.unsaved_finals`, which decides), and the
room shows it anyway. Held finals are written again, oldest first and before anything newer,
by a retry task with backoff and on every new final. A failed attempt cuts the file back to its
last whole line, so a half-written line never merges with the next one.

No file handle stays open between writes (open, write, fsync, close per final): a remount, a
replaced card or a moved file is seen at the next final, and a read-only remount is not
refused as busy because of this process.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from edge_server.core.stream_positions import (
    STREAM_END_FIELD,
    STREAM_FIELD,
    StreamLedger,
    ledger_from_records,
    without_stream_fields,
)
from edge_server.core.unsaved_finals import (
    HeldFinal,
    UnsavedFinals,
    fault_of,
    low_space,
)
from edge_server.core.wall_time import utc_now

log = logging.getLogger(__name__)

UNSAVED_FIELD = "unsaved"
"""Set to true on a final that is shown but not (yet) on disk; removed once it is written."""
DEFAULT_UNSAVED_MAX = 5000
"""Default cap of held finals per room (see ``unsaved_max`` in docs/configuration.md)."""
OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


def parse_transcript(
    data: bytes, *, stream_fields: bool = False
) -> tuple[list[dict[str, Any]], int]:
    """Records from whole lines of a transcript, and how many lines were unreadable.

    The internal ``stream``/``stream_end`` fields are taken off unless ``stream_fields``."""
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
            records.append(record if stream_fields else without_stream_fields(record))
        else:
            bad += 1
    return records, bad


class TranscriptStore:
    """The transcript file of one room, its recent finals in memory, and the finals the disk
    refused (held until it takes them again)."""

    def __init__(
        self,
        path: Path,
        *,
        backlog_size: int = 500,
        fsync: bool = True,
        unsaved_max: int = DEFAULT_UNSAVED_MAX,
        min_free_bytes: int = 0,
    ) -> None:
        """``unsaved_max``: most finals held in memory while the disk refuses them;
        ``min_free_bytes``: below this free space the storage reports ``low_space``."""
        self.path = path
        self.fsync = fsync
        self.min_free_bytes = min_free_bytes
        self.recent: collections.deque[dict[str, Any]] = collections.deque(maxlen=backlog_size)
        self.count = 0
        """Finals of this room (on disk and held)."""
        self.last_segment = 0
        self.last_end = 0.0
        self.unsaved = UnsavedFinals(unsaved_max)
        self.free_bytes: int | None = None
        """Free space of the file system (last look), or None if unknown."""
        self._lock = asyncio.Lock()
        self._io_lock = threading.Lock()
        self._seq = 0
        self._flushed_seq = 0
        """Append order of the last line known to be in the file (set under ``_io_lock``)."""
        self._good_size = 0
        """Size of the file up to its last whole line we know of."""
        self._torn_tail: bytes | None = None
        """A torn last line found at start that could not be moved aside yet."""
        self._tail_dirty = False
        """The file may hold bytes past its last whole line (checked before the next write)."""
        self._retry_task: asyncio.Task[None] | None = None
        self._held_records: dict[int, dict[str, Any]] = {}
        """The shown records of held finals (their ``unsaved`` mark goes once written)."""
        self.appended = asyncio.Event()
        """Set after each :meth:`append` (written or held): a follower (the replicator) clears
        it, looks for new finals, and waits on it instead of polling."""
        self.streams = StreamLedger()
        """How far each recent node stream's finals on disk go, as loaded at start (see
        :func:`~edge_server.core.stream_positions.ledger_from_records`); the room's clock takes
        it over and keeps it up to date with the audio it receives."""

    # --- start --------------------------------------------------------------------------------

    def load(self) -> None:
        """Read the existing file (if any) and repair a torn tail. A disk that refuses writes
        (full, read-only) does not stop the room: the repair waits for the first write."""
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        data = self.path.read_bytes() if self.path.exists() else b""
        cut = len(data)
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            self._torn_tail = data[cut:]
            self._tail_dirty = True
            data = data[:cut]
        self._good_size = cut
        if self._torn_tail is not None:
            try:
                self._repair_tail()
            except OSError as exc:
                log.error(
                    "%s: a torn last line (%d bytes) is kept in memory until the disk takes "
                    "it: %s", self.path, len(self._torn_tail or b""), exc,
                )  # fmt: skip
        records, bad = parse_transcript(data, stream_fields=True)
        if bad:
            log.warning("%s: skipped %d unreadable lines", self.path, bad)
        self.streams = ledger_from_records(records)
        for record in records:
            self._remember(without_stream_fields(record))
        self._look_at_space()

    def _remember(self, record: dict[str, Any]) -> None:
        self.recent.append(record)
        self.count += 1
        self.last_segment = max(self.last_segment, int(record["segment"]))
        self.last_end = max(self.last_end, float(record.get("end", 0.0)))

    # --- file I/O (in a thread) ---------------------------------------------------------------

    def _repair_tail(self) -> None:
        """Before appending: move a torn line found at start aside, and cut off anything past
        the last whole line (a half-written line of a failed attempt)."""
        if not self._tail_dirty:
            return
        if self._torn_tail is not None:
            torn = self.path.with_name(f"{self.path.name}.torn-{int(time.time())}")
            torn.write_bytes(self._torn_tail)
            log.warning(
                "%s: moved a torn last line (%d bytes) to %s", self.path, len(self._torn_tail), torn
            )
            self._torn_tail = None
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        if size > self._good_size:
            os.truncate(self.path, self._good_size)
        self._tail_dirty = False

    def _write_lines(self, lines: list[bytes], through_seq: int) -> None:
        """Append whole lines durably, or raise OSError with the file cut back to its last
        whole line (as far as the disk lets us; else before the next attempt)."""
        with self._io_lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._repair_tail()
                fd = os.open(self.path, OPEN_FLAGS, 0o644)
                try:
                    view = memoryview(b"".join(lines))
                    try:
                        while view:
                            view = view[os.write(fd, view) :]
                        if self.fsync:
                            os.fsync(fd)
                    except OSError:
                        self._tail_dirty = True  # cut back now, or before the next attempt
                        with contextlib.suppress(OSError):
                            os.ftruncate(fd, self._good_size)
                        raise
                    self._good_size = os.fstat(fd).st_size
                    self._flushed_seq = through_seq
                finally:
                    os.close(fd)
            finally:
                self._look_at_space()

    def _look_at_space(self) -> None:
        try:
            stat = os.statvfs(self.path.parent)
        except OSError:
            self.free_bytes = None
            return
        self.free_bytes = stat.f_bavail * stat.f_frsize

    # --- appending ----------------------------------------------------------------------------

    async def append(
        self, record: dict[str, Any], stream_mark: tuple[str, int] | None = None
    ) -> bool:
        """Write one final durably (off the event loop) and keep it for the backlog; True when
        it is on disk. False: the disk refused it, it is held in memory (marked unsaved) and
        will be written before anything newer when the disk takes writes again.

        ``stream_mark``: ``(stream id, sample where the final's audio ends)`` of a positioned
        node stream, written with the line only (internal: ``record`` does not get it)."""
        written = record
        if stream_mark is not None:
            written = {**record, STREAM_FIELD: stream_mark[0], STREAM_END_FIELD: stream_mark[1]}
        line = json.dumps(written, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        async with self._lock:
            self._seq += 1
            item = HeldFinal(self._seq, int(record["segment"]), line)
            self._remember(record)
            if self.unsaved.held:
                await self._flush()  # a new final is also a retry, and comes after them
            try:
                if not self.unsaved.held:
                    try:
                        await asyncio.to_thread(self._write_lines, [line], item.seq)
                    except OSError as exc:
                        self._failed(exc)
                    else:
                        self.unsaved.succeeded()
                        return True
                self._hold(item, record)
                return False
            finally:
                self.appended.set()

    def _hold(self, item: HeldFinal, record: dict[str, Any]) -> None:
        record[UNSAVED_FIELD] = True
        self._held_records[item.seq] = record
        gone = self.unsaved.hold(item)
        if gone is not None:
            self._held_records.pop(gone.seq, None)
            log.error(
                "%s: more than %d finals unsaved: dropped the oldest from memory (segment %d, "
                "%d dropped so far), its line: %s", self.path, self.unsaved.cap, gone.segment,
                self.unsaved.dropped, gone.line.decode(errors="replace").rstrip(),
            )  # fmt: skip
        if self._retry_task is None or self._retry_task.done():
            self._retry_task = asyncio.create_task(
                self._retry_loop(), name=f"transcript-retry-{self.path.parent.name}"
            )

    def _failed(self, exc: OSError) -> None:
        first = self.unsaved.fault is None
        fault = fault_of(exc, utc_now())
        delay = self.unsaved.failed(fault, time.monotonic())
        if first:
            log.error(
                "%s: CANNOT WRITE THE TRANSCRIPT (%s: %s): captions go on, finals are held in "
                "memory (at most %d) and written when the disk takes them; next try in %.1f s",
                self.path, fault.code, fault.message, self.unsaved.cap, delay,
            )  # fmt: skip

    async def _flush(self) -> None:
        """Write held finals, oldest first, until none is left or the disk refuses (lock held)."""
        while self.unsaved.held:
            batch = self.unsaved.batch()
            try:
                await asyncio.to_thread(
                    self._write_lines, [item.line for item in batch], batch[-1].seq
                )
            except OSError as exc:
                self._failed(exc)
                return
            self._written(self.unsaved.written_through(self._flushed_seq))
        self.unsaved.succeeded()

    def _written(self, items: list[HeldFinal]) -> None:
        for item in items:
            record = self._held_records.pop(item.seq, None)
            if record is not None:
                record.pop(UNSAVED_FIELD, None)
        if items and not self.unsaved.held:
            log.warning(
                "%s: the disk takes writes again: every held final is written (%d late since "
                "start, %d dropped)", self.path, self.unsaved.recovered, self.unsaved.dropped,
            )  # fmt: skip

    async def _retry_loop(self) -> None:
        """While finals are held: wait for the retry time, then try to write them."""
        while True:
            retry_at = self.unsaved.retry_at
            wait = 0.0 if retry_at is None else retry_at - time.monotonic()
            await asyncio.sleep(max(0.05, wait))
            async with self._lock:
                if not self.unsaved.held:
                    return
                if self.unsaved.retry_due(time.monotonic()):
                    await self._flush()
                if not self.unsaved.held:
                    return

    # --- reading ------------------------------------------------------------------------------

    def storage(self) -> dict[str, object]:
        """The storage state for ``/healthz``, ``/metrics`` and the status page."""
        report = self.unsaved.report(time.monotonic())
        report["free_bytes"] = self.free_bytes
        report["min_free_bytes"] = self.min_free_bytes
        report["low_space"] = low_space(self.free_bytes, self.min_free_bytes)
        return report

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

    def held_records(self) -> list[dict[str, Any]]:
        """The finals held in memory (not on disk yet), oldest first, marked unsaved."""
        out = []
        for item in list(self.unsaved.held):
            record = without_stream_fields(json.loads(item.line))
            record[UNSAVED_FIELD] = True
            out.append(record)
        return out

    def all_records(self) -> list[dict[str, Any]]:
        """The file's finals, then the held ones (blocking: call it in a thread): what the
        room said, for exports while the disk refuses writes."""
        return self.read_all() + self.held_records()

    # --- stop ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop retrying; one last try to write held finals. Those the disk still refuses are
        logged whole at ERROR (their last copy) and counted in the log line."""
        if self._retry_task is not None:
            self._retry_task.cancel()
            self._retry_task = None
        with self._io_lock:  # a write in flight finishes first
            self.unsaved.written_through(self._flushed_seq)
        held = list(self.unsaved.held)
        if not held:
            return
        try:
            self._write_lines([item.line for item in held], held[-1].seq)
            self.unsaved.written_through(self._flushed_seq)
            log.warning("%s: %d held finals written at shutdown", self.path, len(held))
        except OSError as exc:
            log.error(
                "%s: shutting down with %d finals NOT SAVED (%s); their lines follow",
                self.path, len(held), exc,
            )  # fmt: skip
            for item in held:
                log.error("unsaved final: %s", item.line.decode(errors="replace").rstrip())

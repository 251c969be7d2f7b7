"""What a room gives its replicator: its finals in transcript order, its status and its talks
(:mod:`edge_server.core.replicated_talks`).

**Order and what counts.** The replicator follows the transcript by position: the file's
finals, read from where the last read stopped, then the finals the disk refused and the store
holds in memory (``unsaved``; they are always newer than the file's, and are written before
anything newer). Held finals are replicated too, in their place: while the Pi's disk fails,
Redis is the only other copy. Once the disk takes them they appear in the file with the same
segment and are not sent again (the stream refuses an id it has).

The held finals are looked at *before* the file is read: a held final written to the file
between the two looks is then seen twice (and sent once), never missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from edge_server.core.replicated_talks import talks_document
from edge_server.core.replication import pending, room_alarms
from edge_server.core.settings import ServerSettings
from edge_server.replication.replicator import RoomReplicator
from edge_server.rooms.room import Room
from edge_server.rooms.status_views import room_talks, status_message, storage_alarms
from edge_server.rooms.transcript import TranscriptStore, parse_transcript

log = logging.getLogger(__name__)
CURSOR_FILE = "replication.json"


class TranscriptFeed:
    """Reads a room's transcript file incrementally (from a byte offset), plus held finals."""

    def __init__(self, store: TranscriptStore) -> None:
        self.store = store
        self._offset = 0
        self._read: list[dict[str, Any]] = []
        """Finals read from the file and not sent yet (after the last ``after`` asked)."""
        self._after = 0
        """The ``segment`` of the last call: asked for less (a wiped stream), read again."""

    def newest(self) -> int:
        """The room's last segment."""
        return self.store.last_segment

    def arm(self) -> None:
        """Forget earlier appends: :meth:`wait_appended` waits for the next one."""
        self.store.appended.clear()

    async def wait_appended(self, longest_s: float) -> None:
        """Until the room appends a final after the last :meth:`arm`, or ``longest_s`` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.store.appended.wait(), longest_s)

    def _read_file(self) -> list[dict[str, Any]]:
        path = self.store.path
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return []
        if size < self._offset:  # a replaced or cut file: read it again (ids skip what was sent)
            self._offset = 0
        with path.open("rb") as handle:
            handle.seek(self._offset)
            data = handle.read(size - self._offset)
        whole = data.rfind(b"\n") + 1
        self._offset += whole
        records, _ = parse_transcript(data[:whole])
        return records

    async def read_after(self, segment: int, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` finals after ``segment``, in segment order (the file's, then held)."""
        if segment < self._after:  # Redis lost what it had: the whole file again
            self._offset, self._read = 0, []
        self._after = segment
        held = self.store.held_records()  # first: see the docstring of this module
        try:
            self._read += await asyncio.to_thread(self._read_file)
        except OSError as exc:  # a failing disk: the held finals still go out
            log.debug("%s: cannot read for replication: %s", self.store.path, exc)
        self._read = [r for r in self._read if int(r["segment"]) > segment]
        return pending([*self._read, *held], segment, limit)


def status_document(room: Room) -> dict[str, Any]:
    """What the room publishes for the hub: its screen ``status`` message, and what the
    conference overview shows (listeners, last final, cost, alarms)."""
    screen = status_message(room)
    last = room.store.recent[-1] if room.store.recent else None
    alarms = room_alarms(screen) + storage_alarms(room)
    return {
        "room": room.name,
        "screen": screen,
        "engine": room.recognizer.name,
        "offline": screen["offline"],
        "audio": screen["audio"],
        "listeners": len(room.broadcaster.subscribers),
        "finals": room.store.count,
        "last_final_at": last.get("wall") if last else None,
        "cost": room.costs.estimate(),
        "alarms": alarms,
    }


class Replication:
    """The replicators of a server's rooms (one task per room), when ``replicate_to`` is set."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.tasks: dict[str, asyncio.Task[None]] = {}

    @property
    def enabled(self) -> bool:
        """True when the server replicates."""
        return bool(self.settings.replicate_to)

    def start(self, room: Room) -> None:
        """Start ``room``'s replicator unless it runs (needs a running event loop; without
        one, the registry's status ticker starts it a second later)."""
        if not self.enabled or room.name in self.tasks:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        replicator = RoomReplicator(
            room.name,
            self.settings.replicate_to,
            TranscriptFeed(room.store),
            lambda: status_document(room),
            room.store.path.parent / CURSOR_FILE,
            maxlen=self.settings.replicate_maxlen,
            on_failure=room.errors.add,
            reserve=lambda segment: room.clock.segments_used(segment + 1),
            talks=lambda: talks_document(room_talks(room)),
        )
        room.replication = replicator.state
        self.tasks[room.name] = asyncio.create_task(replicator.run(), name=f"replicate-{room.name}")

    async def close(self) -> None:
        """Stop every replicator (what was not sent stays on the Pi for the next start)."""
        tasks = list(self.tasks.values())
        self.tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

"""Finals the disk refused, held in memory in order until it takes them again. Pure.

The rule when the disk works: a final is on disk (fsync'ed) before it is shown. When the
transcript cannot be written (``ENOSPC``: the card is full; ``EROFS``: the kernel remounted it
read-only after an I/O error; ``EIO``; any ``OSError``), the room keeps captioning: the final is
shown anyway, marked unsaved, and held here. From then on every new final queues *behind* the
held ones, so when writing works again (a retry with backoff, or the next final) they reach the
file in the order they were spoken, before anything newer.

The queue is bounded (``cap`` finals). Beyond it the **oldest** held final is dropped from
memory: the caller logs it whole at ERROR (the journal is its last copy) and the drop is
counted (``dropped``, the first and last dropped segment) for ``/healthz``, ``/metrics`` and the
status page. Nothing leaves this queue silently.

The transcript adapter (:mod:`edge_server.rooms.transcript`) does the I/O and the sleeping;
this module only decides: hold or write directly, what to write next, when to retry, and what
the storage state is.
"""

from __future__ import annotations

import errno
from collections import deque
from dataclasses import dataclass

from edge_server.contract.backoff import Backoff, BackoffPolicy

RETRY_POLICY = BackoffPolicy(first_s=1.0, factor=1.5, max_s=30.0, jitter=0.2)
"""How long a failing transcript waits between write attempts (a new final tries at once)."""

BATCH_BYTES = 64 * 1024
"""Most bytes of held finals written (and fsync'ed) in one attempt."""


@dataclass(frozen=True)
class StorageFault:
    """Why the transcript could not be written."""

    code: str
    """The errno's name (``ENOSPC``, ``EROFS``, ``EIO``), or ``OSError`` without one."""
    message: str
    """The error as the system said it."""
    at: str
    """When (ISO 8601, UTC)."""


def fault_of(exc: OSError, at: str) -> StorageFault:
    """The fault an ``OSError`` describes."""
    number = exc.errno
    code = errno.errorcode.get(number, "OSError") if number is not None else "OSError"
    text = exc.strerror or str(exc) or code
    return StorageFault(code=code, message=text, at=at)


@dataclass(frozen=True)
class HeldFinal:
    """One final waiting for the disk: its place in the room's order, and its line."""

    seq: int
    """The store's append order (increasing)."""
    segment: int
    """The final's segment id (for logs and the status page)."""
    line: bytes
    """The JSON line to write, newline included."""


class UnsavedFinals:
    """The held finals of one transcript and its storage state (``ok`` or ``failing``)."""

    def __init__(self, cap: int, policy: BackoffPolicy = RETRY_POLICY) -> None:
        """``cap``: most finals held; beyond it the oldest is dropped (and counted)."""
        if cap < 1:
            raise ValueError("cap must be at least 1")
        self.cap = cap
        self.held: deque[HeldFinal] = deque()
        self.fault: StorageFault | None = None
        """The current fault; None while the transcript is written normally."""
        self.last_fault: StorageFault | None = None
        """The latest fault ever (kept after recovery for the post-mortem)."""
        self.failing_since: str | None = None
        """When the current failure began (ISO), or None."""
        self.failures = 0
        """Failed write attempts since start."""
        self.dropped = 0
        """Held finals dropped because the cap was reached, since start."""
        self.dropped_segments: tuple[int, int] | None = None
        """The first and the last dropped segment, or None."""
        self.recovered = 0
        """Held finals written late (after the disk came back), since start."""
        self.retry_at: float | None = None
        """When to try again (the caller's monotonic clock), or None."""
        self._backoff = Backoff(policy)

    @property
    def state(self) -> str:
        """``ok`` (written as it comes) or ``failing`` (finals are held)."""
        return "failing" if self.fault is not None or self.held else "ok"

    def must_hold(self) -> bool:
        """True when a new final must queue behind held ones (never written before them)."""
        return self.state != "ok"

    def hold(self, item: HeldFinal) -> HeldFinal | None:
        """Queue ``item`` at the end; returns the oldest held final if it had to be dropped to
        stay within the cap (the caller logs it whole), else None."""
        self.held.append(item)
        if len(self.held) <= self.cap:
            return None
        gone = self.held.popleft()
        self.dropped += 1
        first = self.dropped_segments[0] if self.dropped_segments else gone.segment
        self.dropped_segments = (first, gone.segment)
        return gone

    def batch(self, max_bytes: int = BATCH_BYTES) -> list[HeldFinal]:
        """The next held finals to write, oldest first: at least one, at most ``max_bytes``
        together (unless the first alone is larger). Empty when nothing is held."""
        out: list[HeldFinal] = []
        size = 0
        for item in self.held:
            if out and size + len(item.line) > max_bytes:
                break
            out.append(item)
            size += len(item.line)
        return out

    def written_through(self, seq: int) -> list[HeldFinal]:
        """Every held final up to append order ``seq`` is in the file now: forget them (and,
        when none is left, the failure). Returns the ones forgotten, oldest first."""
        done: list[HeldFinal] = []
        while self.held and self.held[0].seq <= seq:
            done.append(self.held.popleft())
        self.recovered += len(done)
        return done

    def succeeded(self) -> None:
        """A write worked: the failure is over once nothing is held."""
        if not self.held:
            self.fault = None
            self.failing_since = None
            self.retry_at = None
            self._backoff.reset()

    def failed(self, fault: StorageFault, now: float) -> float:
        """A write failed at ``now``: remember why, and return the delay until the retry."""
        if self.fault is None:
            self.failing_since = fault.at
        self.fault = fault
        self.last_fault = fault
        self.failures += 1
        delay = self._backoff.next_delay()
        self.retry_at = now + delay
        return delay

    def retry_due(self, now: float) -> bool:
        """True when something is held and its retry time has come."""
        return bool(self.held) and (self.retry_at is None or now >= self.retry_at)

    def report(self, now: float) -> dict[str, object]:
        """The storage state for ``/healthz`` and the status page (without disk space)."""
        fault = self.fault
        last = self.last_fault
        return {
            "state": self.state,
            "unsaved": len(self.held),
            "unsaved_max": self.cap,
            "oldest_unsaved_segment": self.held[0].segment if self.held else None,
            "dropped": self.dropped,
            "dropped_segments": list(self.dropped_segments) if self.dropped_segments else None,
            "recovered": self.recovered,
            "failures": self.failures,
            "error": None if fault is None else f"{fault.code}: {fault.message}",
            "failing_since": self.failing_since,
            "last_error": None if last is None else f"{last.code}: {last.message}",
            "last_error_at": None if last is None else last.at,
            "next_retry_s": (
                None
                if self.retry_at is None or not self.held
                else round(max(0.0, self.retry_at - now), 1)
            ),
        }


def low_space(free_bytes: int | None, min_free_bytes: int) -> bool:
    """True when the state folder's file system has less than ``min_free_bytes`` free
    (unknown free space is not an alarm of its own)."""
    return free_bytes is not None and free_bytes < min_free_bytes

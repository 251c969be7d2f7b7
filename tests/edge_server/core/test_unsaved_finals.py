"""The held finals of a transcript the disk refuses: order, the cap, retries, the report."""

from __future__ import annotations

import errno

import pytest

from edge_server.contract.backoff import BackoffPolicy
from edge_server.core.unsaved_finals import (
    HeldFinal,
    StorageFault,
    UnsavedFinals,
    fault_of,
    low_space,
)

EXACT = BackoffPolicy(first_s=1.0, factor=2.0, max_s=8.0, jitter=0.0)
FULL = StorageFault("ENOSPC", "No space left on device", "2026-12-03T10:00:00.000Z")
RO = StorageFault("EROFS", "Read-only file system", "2026-12-03T10:01:00.000Z")


def item(seq: int, size: int = 10) -> HeldFinal:
    return HeldFinal(seq=seq, segment=100 + seq, line=b"x" * (size - 1) + b"\n")


@pytest.mark.parametrize(
    ("number", "code", "message"),
    [
        (errno.ENOSPC, "ENOSPC", "No space left on device"),
        (errno.EROFS, "EROFS", "Read-only file system"),
        (errno.EIO, "EIO", "Input/output error"),
        (None, "OSError", "boom"),
    ],
)
def test_faults_are_named_by_their_errno(number: int | None, code: str, message: str) -> None:
    exc = OSError(number, message) if number is not None else OSError("boom")
    fault = fault_of(exc, "t")
    assert (fault.code, fault.message, fault.at) == (code, message, "t")


def test_ok_until_a_failure_then_everything_queues_behind_the_held() -> None:
    queue = UnsavedFinals(cap=10, policy=EXACT)
    assert (queue.state, queue.must_hold()) == ("ok", False)
    assert queue.failed(FULL, now=100.0) == 1.0
    assert queue.hold(item(1)) is None
    assert (queue.state, queue.must_hold()) == ("failing", True)
    assert queue.failing_since == FULL.at
    # A new final never overtakes a held one.
    assert queue.hold(item(2)) is None
    assert [h.seq for h in queue.batch()] == [1, 2]


@pytest.mark.parametrize(
    ("now", "due"),
    [(100.0, False), (100.99, False), (101.0, True), (150.0, True)],
)
def test_retry_is_due_after_the_backoff(now: float, due: bool) -> None:
    queue = UnsavedFinals(cap=10, policy=EXACT)
    queue.failed(FULL, now=100.0)
    queue.hold(item(1))
    assert queue.retry_due(now) is due


def test_backoff_grows_while_failing_and_resets_after_recovery() -> None:
    queue = UnsavedFinals(cap=10, policy=EXACT)
    queue.hold(item(1))
    delays = [queue.failed(FULL, now=0.0) for _ in range(5)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert queue.failures == 5
    assert queue.failing_since == FULL.at  # the first failure of the episode
    queue.failed(RO, now=0.0)
    assert queue.fault == RO
    assert queue.failing_since == FULL.at
    assert [h.seq for h in queue.written_through(1)] == [1]
    queue.succeeded()
    assert (queue.state, queue.fault, queue.retry_at) == ("ok", None, None)
    assert queue.last_fault == RO  # kept for the post-mortem
    assert queue.failed(FULL, now=0.0) == 1.0  # a new episode starts from the first delay


def test_success_while_finals_are_still_held_keeps_failing() -> None:
    queue = UnsavedFinals(cap=10, policy=EXACT)
    queue.failed(FULL, now=0.0)
    for seq in (1, 2, 3):
        queue.hold(item(seq))
    assert [h.seq for h in queue.written_through(2)] == [1, 2]
    queue.succeeded()
    assert queue.state == "failing"
    assert [h.seq for h in queue.held] == [3]
    assert queue.recovered == 2


@pytest.mark.parametrize(
    ("sizes", "max_bytes", "expected"),
    [
        ([10, 10, 10], 25, [1, 2]),
        ([10, 10, 10], 30, [1, 2, 3]),
        ([40, 10], 25, [1]),  # a line larger than a batch is written alone
        ([], 25, []),
    ],
)
def test_batches_are_whole_lines_oldest_first(
    sizes: list[int], max_bytes: int, expected: list[int]
) -> None:
    queue = UnsavedFinals(cap=10)
    for seq, size in enumerate(sizes, start=1):
        queue.hold(item(seq, size))
    assert [h.seq for h in queue.batch(max_bytes)] == expected


def test_beyond_the_cap_the_oldest_is_dropped_and_counted() -> None:
    queue = UnsavedFinals(cap=3, policy=EXACT)
    queue.failed(FULL, now=0.0)
    dropped = [queue.hold(item(seq)) for seq in range(1, 7)]
    assert [d.seq if d else None for d in dropped] == [None, None, None, 1, 2, 3]
    assert [h.seq for h in queue.held] == [4, 5, 6]
    assert queue.dropped == 3
    assert queue.dropped_segments == (101, 103)
    report = queue.report(now=0.5)
    assert report["unsaved"] == 3
    assert report["dropped"] == 3
    assert report["dropped_segments"] == [101, 103]
    assert report["oldest_unsaved_segment"] == 104


def test_report_of_a_failing_then_recovered_store() -> None:
    queue = UnsavedFinals(cap=50, policy=EXACT)
    assert queue.report(now=0.0) == {
        "state": "ok",
        "unsaved": 0,
        "unsaved_max": 50,
        "oldest_unsaved_segment": None,
        "dropped": 0,
        "dropped_segments": None,
        "recovered": 0,
        "failures": 0,
        "error": None,
        "failing_since": None,
        "last_error": None,
        "last_error_at": None,
        "next_retry_s": None,
    }
    queue.failed(FULL, now=10.0)
    queue.hold(item(1))
    failing = queue.report(now=10.25)
    assert failing["state"] == "failing"
    assert failing["error"] == "ENOSPC: No space left on device"
    assert failing["next_retry_s"] == 0.8
    queue.written_through(1)
    queue.succeeded()
    after = queue.report(now=20.0)
    assert (after["state"], after["error"], after["recovered"]) == ("ok", None, 1)
    assert after["last_error"] == "ENOSPC: No space left on device"


def test_cap_must_be_positive() -> None:
    with pytest.raises(ValueError, match="cap"):
        UnsavedFinals(cap=0)


@pytest.mark.parametrize(
    ("free", "minimum", "low"),
    [(None, 100, False), (99, 100, True), (100, 100, False), (0, 0, False), (5, 0, False)],
)
def test_low_space(free: int | None, minimum: int, low: bool) -> None:
    assert low_space(free, minimum) is low

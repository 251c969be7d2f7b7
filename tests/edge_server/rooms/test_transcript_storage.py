"""The transcript on a real file system that fills up or turns read-only (a 512 KiB tmpfs).

Every test fills the disk with a file (or remounts it read-only) between finals, as a
runaway log or an SD card's I/O error would, and checks what the store holds, what the file
holds (whole lines only, in order) and what it reports.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from edge_server.core.settings import RoomSettings
from edge_server.rooms.live_settings_store import LiveSettingsStore
from edge_server.rooms.transcript import TranscriptStore, parse_transcript
from tests.helpers.tiny_disk import TinyDisk
from tests.helpers.waiting import wait_until

pytestmark = pytest.mark.timeout(60)

TEXT = "a sentence of about the length people speak in a talk, with some words " * 2


def final(segment: int) -> dict[str, Any]:
    return {"type": "final", "segment": segment, "text": f"{segment}: {TEXT}", "end": segment}


def open_store(disk: TinyDisk, **kwargs: Any) -> TranscriptStore:
    store = TranscriptStore(disk.mountpoint / "rooms" / "main" / "transcript.jsonl", **kwargs)
    store.load()
    return store


def on_disk(store: TranscriptStore) -> list[int]:
    """The segments in the file; the file must hold whole lines only."""
    data = store.path.read_bytes()
    assert data == b"" or data.endswith(b"\n"), "a half-written line was left in the file"
    records, bad = parse_transcript(data)
    assert bad == 0
    assert all("unsaved" not in r for r in records)
    return [r["segment"] for r in records]


async def append_until_refused(store: TranscriptStore, first: int) -> int:
    """Append finals from ``first`` until the disk refuses one; returns its segment. (The
    file's last page may still have room after the disk is full.)"""
    for segment in range(first, first + 200):
        if not await store.append(final(segment)):
            return segment
    raise AssertionError("the full disk never refused a final")


async def test_a_full_disk_holds_finals_in_order_and_the_next_final_writes_them(
    tiny_disk: TinyDisk,
) -> None:
    store = open_store(tiny_disk, fsync=True)
    for segment in (1, 2, 3):
        assert await store.append(final(segment))
    tiny_disk.fill()
    refused = await append_until_refused(store, 4)
    for segment in range(refused + 1, refused + 5):
        assert not await store.append(final(segment))  # held behind the first refused one
    last = refused + 4
    assert on_disk(store) == list(range(1, refused))
    storage = store.storage()
    assert storage["state"] == "failing"
    assert storage["unsaved"] == 5
    assert str(storage["error"]).startswith("ENOSPC")
    assert storage["oldest_unsaved_segment"] == refused
    assert [r.get("unsaved", False) for r in store.backlog(5)] == [True] * 5
    assert [r["segment"] for r in store.held_records()] == list(range(refused, last + 1))
    assert [r["segment"] for r in store.all_records()] == list(range(1, last + 1))

    tiny_disk.free()
    assert await store.append(final(last + 1))  # written after every held one
    assert on_disk(store) == list(range(1, last + 2))
    storage = store.storage()
    assert (storage["state"], storage["unsaved"], storage["error"]) == ("ok", 0, None)
    assert storage["recovered"] == 5
    assert str(storage["last_error"]).startswith("ENOSPC")
    assert all("unsaved" not in r for r in store.backlog(10))
    store.close()

    again = open_store(tiny_disk)
    assert (again.count, again.last_segment) == (last + 1, last + 1)
    again.close()


async def test_the_retry_writes_held_finals_without_waiting_for_a_new_one(
    tiny_disk: TinyDisk,
) -> None:
    store = open_store(tiny_disk)
    tiny_disk.fill()
    refused = await append_until_refused(store, 1)
    assert store.storage()["next_retry_s"] is not None
    tiny_disk.free()
    await wait_until(lambda: store.storage()["state"] == "ok", what="the retry")
    assert on_disk(store) == list(range(1, refused + 1))
    store.close()


async def test_a_read_only_remount_is_handled_the_same_way(tiny_disk: TinyDisk) -> None:
    store = open_store(tiny_disk, fsync=True)
    assert await store.append(final(1))
    tiny_disk.remount("ro")
    assert not await store.append(final(2))
    assert not await store.append(final(3))
    assert str(store.storage()["error"]).startswith("EROFS")
    assert on_disk(store) == [1]
    tiny_disk.remount("rw")
    assert await store.append(final(4))
    assert on_disk(store) == [1, 2, 3, 4]
    store.close()


async def test_beyond_the_cap_the_oldest_is_dropped_loudly_and_counted(
    tiny_disk: TinyDisk, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(tiny_disk, unsaved_max=3)
    tiny_disk.remount("ro")
    with caplog.at_level(logging.ERROR, logger="edge_server.rooms.transcript"):
        for segment in range(1, 7):
            assert not await store.append(final(segment))
    storage = store.storage()
    assert (storage["unsaved"], storage["dropped"], storage["dropped_segments"]) == (3, 3, [1, 3])
    messages = [r.getMessage() for r in caplog.records]
    dropped_lines = [m for m in messages if "dropped the oldest" in m]
    assert len(dropped_lines) == 3
    for segment, message in zip((1, 2, 3), dropped_lines, strict=True):
        assert f"segment {segment}," in message
        assert f'"text":"{segment}: {TEXT[:20]}' in message  # the words survive in the log
    tiny_disk.remount("rw")
    assert await store.append(final(7))
    assert on_disk(store) == [4, 5, 6, 7]
    assert store.storage()["dropped"] == 3  # the count stays after recovery
    store.close()


async def test_start_on_a_read_only_disk_with_a_torn_last_line(tiny_disk: TinyDisk) -> None:
    path = tiny_disk.mountpoint / "rooms" / "main" / "transcript.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(final(1)) + "\n" + '{"type": "final", "segm')
    tiny_disk.remount("ro")
    store = open_store(tiny_disk)  # does not raise: the repair waits for the disk
    assert (store.count, store.last_segment) == (1, 1)
    assert not await store.append(final(2))
    tiny_disk.remount("rw")
    assert await store.append(final(3))
    assert on_disk(store) == [1, 2, 3]
    torn = list(path.parent.glob("transcript.jsonl.torn-*"))
    assert [t.read_text() for t in torn] == ['{"type": "final", "segm']
    store.close()


async def test_a_room_folder_that_cannot_be_created_is_created_by_the_first_write(
    tiny_disk: TinyDisk,
) -> None:
    tiny_disk.remount("ro")
    store = open_store(tiny_disk)
    assert not await store.append(final(1))
    tiny_disk.remount("rw")
    assert await store.append(final(2))
    assert on_disk(store) == [1, 2]
    store.close()


async def test_close_writes_what_it_can_and_logs_the_rest_whole(
    tiny_disk: TinyDisk, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(tiny_disk)
    tiny_disk.remount("ro")
    for segment in (1, 2):
        assert not await store.append(final(segment))
    with caplog.at_level(logging.ERROR, logger="edge_server.rooms.transcript"):
        store.close()
    messages = [r.getMessage() for r in caplog.records]
    assert any("2 finals NOT SAVED" in m for m in messages)
    unsaved = [m for m in messages if m.startswith("unsaved final: ")]
    assert [json.loads(m.removeprefix("unsaved final: "))["segment"] for m in unsaved] == [1, 2]

    tiny_disk.remount("rw")
    store = open_store(tiny_disk)
    tiny_disk.remount("ro")
    assert not await store.append(final(3))
    tiny_disk.remount("rw")
    store.close()  # one last try at shutdown
    assert on_disk(store) == [3]


async def test_live_settings_on_a_full_disk_keep_the_old_file_and_leave_no_debris(
    tiny_disk: TinyDisk,
) -> None:
    room_dir: Path = tiny_disk.mountpoint / "rooms" / "main"
    live = LiveSettingsStore(room_dir)
    live.save(RoomSettings(targets=("de",)), False)
    tiny_disk.fill()
    with pytest.raises(OSError, match="No space left"):  # a new file needs a page
        live.save(RoomSettings(targets=("fr",)), True)
    assert sorted(p.name for p in room_dir.iterdir()) == ["live-settings.json"]
    loaded = live.load(RoomSettings())
    assert loaded is not None
    assert loaded[0].targets == ("de",)
    tiny_disk.free()


async def test_stream_positions_come_only_from_finals_on_disk(tiny_disk: TinyDisk) -> None:
    """Each final's stream position is written with it; a store loaded after a crash knows a
    stream up to its last final on disk, not up to a final the disk refused (held in memory
    and lost with the process). The position stays internal: not in the backlog, the held
    records or what exports read."""
    store = open_store(tiny_disk, fsync=True)
    assert await store.append(final(1), ("node-a", 16000))
    assert await store.append(final(2))  # a source without positions
    assert await store.append(final(3), ("node-a", 32000))
    tiny_disk.fill()
    refused = await append_until_refused(store, 4)
    assert not await store.append(final(refused + 1), ("node-a", 99000))
    marks = [(r.get("stream"), r.get("stream_end")) for r in map(json.loads, store.path.open())]
    assert marks[:3] == [("node-a", 16000), (None, None), ("node-a", 32000)]
    for shown in (store.backlog(50), store.held_records(), store.all_records()):
        assert shown
        assert all("stream" not in r and "stream_end" not in r for r in shown)
    assert store.held_records()[-1]["segment"] == refused + 1

    crashed = open_store(tiny_disk)  # the process died with the held finals
    assert crashed.streams.end("node-a") == 32000
    assert crashed.streams.end("node-b") is None
    assert all("stream_end" not in r for r in crashed.backlog(50))
    tiny_disk.free()
    assert await store.append(final(refused + 2))  # the held final is on disk now: it counts
    assert open_store(tiny_disk).streams.end("node-a") == 99000

"""The transcript file: durable appends, reload, repair of a torn tail."""

from __future__ import annotations

import json
from pathlib import Path

from edge_server.rooms.transcript import TranscriptStore, parse_transcript


def record(segment: int, end: float = 1.0) -> dict[str, object]:
    return {"type": "final", "segment": segment, "text": f"line {segment}", "start": 0, "end": end}


async def test_append_then_reload(tmp_path: Path) -> None:
    path = tmp_path / "rooms" / "main" / "transcript.jsonl"
    store = TranscriptStore(path, backlog_size=3, fsync=True)
    store.load()
    for i in range(1, 6):
        await store.append(record(i, end=float(i)))
    store.close()
    lines = path.read_text().splitlines()
    assert [json.loads(line)["segment"] for line in lines] == [1, 2, 3, 4, 5]

    again = TranscriptStore(path, backlog_size=3)
    again.load()
    assert again.count == 5
    assert again.last_segment == 5
    assert again.last_end == 5.0
    assert [r["segment"] for r in again.backlog(10)] == [3, 4, 5]
    assert [r["segment"] for r in again.backlog(2)] == [4, 5]
    assert again.backlog(0) == []
    assert len(again.read_all()) == 5
    again.close()


async def test_torn_last_line_is_moved_aside_and_appends_stay_valid(tmp_path: Path) -> None:
    path = tmp_path / "transcript.jsonl"
    whole = json.dumps(record(1)) + "\n"
    path.write_text(whole + '{"type": "final", "segm')
    store = TranscriptStore(path)
    store.load()
    assert store.count == 1
    torn = list(tmp_path.glob("transcript.jsonl.torn-*"))
    assert len(torn) == 1
    assert torn[0].read_text() == '{"type": "final", "segm'
    await store.append(record(2))
    store.close()
    records, bad = parse_transcript(path.read_bytes())
    assert [r["segment"] for r in records] == [1, 2]
    assert bad == 0


def test_unreadable_lines_are_skipped_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "transcript.jsonl"
    path.write_text(
        json.dumps(record(1))
        + "\n"
        + "garbage\n"
        + '{"segment": "x"}\n'
        + json.dumps(record(4))
        + "\n"
    )
    store = TranscriptStore(path)
    store.load()
    assert store.count == 2
    assert store.last_segment == 4
    store.close()


def test_missing_file_is_an_empty_transcript(tmp_path: Path) -> None:
    store = TranscriptStore(tmp_path / "new" / "transcript.jsonl")
    store.load()
    assert store.count == 0
    assert store.last_segment == 0
    assert store.read_all() == []
    store.close()

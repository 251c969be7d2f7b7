"""Write every talk's transcript to a folder per talk slug, ready to upload next to the talk's
recording (``edge-server export-talks``). Reads the rooms' transcript files; the server may run.

One folder per talk that has finals::

    OUT/{slug}/talk.json              id, title, speakers, start, end, room, finals, offset_s
    OUT/{slug}/transcript.{txt,srt,vtt,jsonl}
    OUT/{slug}/transcript.{lang}.{txt,srt,vtt}   each translation present in its finals

Cue times are relative to the talk's scheduled start (plus the room's ``talk_offsets``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from edge_server.contract.names import InvalidName, validate_language, validate_room_name
from edge_server.core.exports import to_srt, to_txt, to_vtt
from edge_server.core.settings import ServerSettings
from edge_server.core.talk_transcripts import group_by_talk, relative_to_talk
from edge_server.core.talks import Schedule
from edge_server.rooms.system_clock import load_steps
from edge_server.rooms.transcript import parse_transcript

RENDERERS = {"txt": to_txt, "srt": to_srt, "vtt": to_vtt}


@dataclass(frozen=True)
class ExportedTalk:
    """One talk written (or a room without talks in the schedule, with ``folder`` None)."""

    room: str
    talk_id: str
    folder: Path | None
    finals: int


def _valid_language(lang: str) -> bool:
    try:
        validate_language(lang)
    except InvalidName:
        return False
    return True


def rooms_on_disk(settings: ServerSettings) -> list[str]:
    """Configured rooms and rooms with a transcript, sorted."""
    names = set(settings.rooms)
    rooms_dir = settings.state_dir / "rooms"
    if rooms_dir.is_dir():
        names.update(p.parent.name for p in rooms_dir.glob("*/transcript.jsonl"))
    valid = []
    for name in sorted(names):
        try:
            valid.append(validate_room_name(name))
        except InvalidName:
            continue
    return valid


def export_room(
    settings: ServerSettings, schedule: Schedule, room: str, out: Path
) -> list[ExportedTalk]:
    """Write the talks of ``room`` that have finals under ``out``; what was written."""
    room_settings = settings.room(room)
    schedule_room = room_settings.schedule_room or room
    path = settings.state_dir / "rooms" / room / "transcript.jsonl"
    records, _ = parse_transcript(path.read_bytes()) if path.exists() else ([], 0)
    steps = load_steps(settings.state_dir)
    groups = group_by_talk(records, schedule, schedule_room, steps)
    written = []
    for talk in schedule.room_talks(schedule_room):
        finals = groups.get(talk.id, [])
        if not finals:
            continue
        offset = room_settings.talk_offsets.get(talk.id, 0.0)
        rows = relative_to_talk(finals, talk, offset, steps)
        folder = out / talk.slug
        folder.mkdir(parents=True, exist_ok=True)
        meta = talk.summary() | {"room": room, "finals": len(rows), "offset_s": offset}
        (folder / "talk.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n")
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        (folder / "transcript.jsonl").write_text(lines, encoding="utf-8")
        langs = sorted({lang for r in rows for lang in r.get("translations", {}) or {}})
        langs = [lang for lang in langs if _valid_language(lang)]
        for fmt, render in RENDERERS.items():
            (folder / f"transcript.{fmt}").write_text(render(rows), encoding="utf-8")
            for lang in langs:
                text = render(rows, lang)
                (folder / f"transcript.{lang}.{fmt}").write_text(text, encoding="utf-8")
        written.append(ExportedTalk(room, talk.id, folder, len(rows)))
    if not schedule.has_room(schedule_room):
        written.append(ExportedTalk(room, "", None, len(records)))
    return written

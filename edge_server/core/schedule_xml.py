"""Read a conference schedule in the "Schedule XML" format (pentabarf, frab, pretalx, c3voc).
Pure: bytes in, a :class:`~edge_server.core.talks.Schedule` or a :class:`ScheduleError` out.

The layout (see https://c3voc.de/wiki/schedule and the c3voc ``schedule.xml.xsd``)::

    <schedule>
      <conference><title/><time_zone_name>Europe/Brussels</time_zone_name>
                  <day_change>09:00</day_change></conference>
      <day date="2026-02-01">
        <room name="Janson">
          <event id="6245" guid="…">
            <date>2026-02-01T10:00:00+01:00</date> <start>10:00</start> <duration>00:50</duration>
            <room>Janson</room> <slug>…</slug> <title>…</title> <url>…</url>
            <persons><person id="228">Simon Phipps</person></persons>
          </event>

An event's ``<date>`` (ISO 8601 with its offset) gives its start; older exports without it
(FOSDEM's pentabarf) give the day's ``date`` and ``<start>``, in the conference's
``time_zone_name`` (UTC, noted, when there is none), and a ``<start>`` before ``day_change``
belongs to the next calendar day. ``<duration>`` is ``H:MM`` or ``H:MM:SS``.

Parsed with the standard library's ``xml.etree``: the schedule may come from a URL, so a first
pass with expat refuses any document that declares an entity (the "billion laughs" and
external-entity tricks, in any encoding); expat itself (2.4.1 and later) also limits entity
amplification, ``xml.etree`` never fetches external entities or DTDs, and the size is capped.
Those are the attacks ``defusedxml`` guards against, so it is not needed as a dependency.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
import zoneinfo
from typing import NoReturn
from xml.parsers import expat

from edge_server.core.talks import SAFE_ID, Schedule, Talk, safe_name

MAX_SCHEDULE_BYTES = 20 * 1024 * 1024
"""Larger documents are refused (a big conference's schedule is a few MB)."""
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{1,2}))?$")


class ScheduleError(ValueError):
    """The document is not a usable Schedule XML; the message says why and where."""


def parse_clock(text: str, what: str) -> dt.timedelta:
    """``H:MM`` or ``H:MM:SS`` (a duration, or a time of day) as a timedelta."""
    match = _CLOCK.match(text.strip())
    if match is None:
        raise ScheduleError(f"{what} {text.strip()!r} is not H:MM or H:MM:SS")
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    if minutes > 59 or seconds > 59:
        raise ScheduleError(f"{what} {text.strip()!r} has minutes or seconds above 59")
    return dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)


def _text(element: ET.Element, tag: str) -> str:
    child = element.find(tag)
    return "".join(child.itertext()).strip() if child is not None else ""


def _zone(name: str, notes: list[str]) -> dt.tzinfo:
    if name:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            notes.append(f"unknown time_zone_name {name!r}: times without an offset read as UTC")
            return dt.UTC
    return dt.UTC


def _refuse_entities(data: bytes) -> None:
    """A first pass: raise :class:`ScheduleError` on invalid XML or an entity declaration."""
    scanner = expat.ParserCreate()

    def refuse(name: str, *_: object) -> NoReturn:
        raise ScheduleError(
            f"the schedule declares the XML entity {name!r} (line {scanner.CurrentLineNumber}): "
            "refused"
        )

    scanner.EntityDeclHandler = refuse
    try:
        scanner.Parse(data, True)
    except expat.ExpatError as exc:
        message = expat.ErrorString(exc.code) if exc.code else str(exc)
        raise ScheduleError(
            f"invalid XML at line {exc.lineno}, column {exc.offset + 1}: {message}"
        ) from None


def _parse_root(data: bytes) -> ET.Element:
    if len(data) > MAX_SCHEDULE_BYTES:
        raise ScheduleError(f"the schedule is larger than {MAX_SCHEDULE_BYTES} bytes")
    _refuse_entities(data)
    try:
        root = ET.fromstring(data)  # noqa: S314 (entities refused above; see the module doc)
    except ET.ParseError as exc:
        line, column = exc.position
        raise ScheduleError(f"invalid XML at line {line}, column {column + 1}: {exc}") from None
    if root.tag != "schedule":
        raise ScheduleError(f"not a Schedule XML: the root element is <{root.tag}>")
    return root


class _EventReader:
    """Reads the events of one document (its time zone, its day change, its notes)."""

    def __init__(self, root: ET.Element) -> None:
        self.notes: list[str] = []
        conference = root.find("conference")
        zone_name = _text(conference, "time_zone_name") if conference is not None else ""
        self.zone = _zone(zone_name, self.notes)
        self.zone_known = bool(zone_name)
        change = _text(conference, "day_change") if conference is not None else ""
        self.day_change = dt.timedelta(0)
        if change:
            try:
                self.day_change = parse_clock(change, "day_change")
            except ScheduleError as exc:
                self.notes.append(f"{exc}: ignored")
        self.ids: set[str] = set()

    def start_of(self, event: ET.Element, day: str, label: str) -> dt.datetime:
        date_text = _text(event, "date")
        if date_text:
            try:
                start = dt.datetime.fromisoformat(date_text)
            except ValueError:
                raise ScheduleError(f"{label}: <date> {date_text!r} is not ISO 8601") from None
            if start.tzinfo is None:
                if not self.zone_known:
                    self.notes.append("<date> without an offset and no time_zone_name: read as UTC")
                start = start.replace(tzinfo=self.zone)
            return start
        start_text = _text(event, "start")
        if not day or not start_text:
            raise ScheduleError(f"{label}: no <date>, and no day date with a <start>")
        try:
            day_date = dt.date.fromisoformat(day[:10])
        except ValueError:
            raise ScheduleError(f"{label}: day date {day!r} is not YYYY-MM-DD") from None
        clock = parse_clock(start_text, "<start>")
        if clock < self.day_change:
            day_date += dt.timedelta(days=1)  # after midnight, still the same conference day
        if not self.zone_known:
            self.notes.append("events without <date> and no time_zone_name: read as UTC")
        midnight = dt.datetime.combine(day_date, dt.time(), tzinfo=self.zone)
        return midnight + clock

    def talk(self, event: ET.Element, room_name: str, day: str) -> Talk:
        raw_id = (event.get("id") or "").strip()
        guid = (event.get("guid") or "").strip()
        title = _text(event, "title")
        label = f"event {raw_id or guid or '?'} ({title or 'untitled'})"
        start = self.start_of(event, day, label)
        duration_text = _text(event, "duration")
        if not duration_text:
            raise ScheduleError(f"{label}: no <duration>")
        end = start + parse_clock(duration_text, f"{label}: <duration>")
        slug_text = _text(event, "slug")
        talk_id = next((c for c in (raw_id, guid, slug_text) if c and SAFE_ID.match(c)), "")
        if not talk_id:
            talk_id = safe_name(raw_id or guid or slug_text or title, "")
        if not talk_id:
            raise ScheduleError(f"{label}: no id, guid or slug")
        if talk_id in self.ids:
            raise ScheduleError(f"{label}: the id {talk_id!r} is used twice")
        self.ids.add(talk_id)
        persons = event.find("persons")
        speakers = tuple(
            (p.text or "").strip()
            for p in (persons.findall("person") if persons is not None else [])
            if (p.text or "").strip()
        )
        return Talk(
            id=talk_id,
            title=title or "(untitled)",
            room=_text(event, "room") or room_name,
            start=start,
            end=end,
            slug=safe_name(slug_text, talk_id),
            speakers=speakers,
            guid=guid,
            url=_text(event, "url"),
        )


def parse_schedule(data: bytes) -> Schedule:
    """The talks of a Schedule XML document. An event that cannot be read (no start, a bad
    duration) is skipped and noted in :attr:`Schedule.notes`; a document that is not XML, not a
    schedule or has no usable event raises :class:`ScheduleError`."""
    root = _parse_root(data)
    reader = _EventReader(root)
    talks: list[Talk] = []
    skipped = 0
    for day in root.iter("day"):
        for room in day.findall("room"):
            for event in room.findall("event"):
                try:
                    talks.append(reader.talk(event, room.get("name", ""), day.get("date", "")))
                except ScheduleError as exc:
                    skipped += 1
                    reader.notes.append(f"skipped {exc}")
    if not talks:
        detail = f" ({skipped} unreadable: {reader.notes[-1]})" if skipped else ""
        raise ScheduleError(f"the schedule has no usable event{detail}")
    conference = root.find("conference")
    title = _text(conference, "title") if conference is not None else ""
    # One note per kind of guess is enough for the log.
    notes = list(dict.fromkeys(reader.notes))
    return Schedule.of(talks, title, notes)

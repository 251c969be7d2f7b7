"""Reading Schedule XML (pretalx/frab with <date>, pentabarf without), with tables."""

from __future__ import annotations

import datetime as dt

import pytest

from edge_server.core.schedule_xml import ScheduleError, parse_clock, parse_schedule
from edge_server.core.talks import room_key, safe_name
from tests.helpers.paths import FIXTURES

FIXTURE = FIXTURES / "schedule" / "conference.xml"
BRUSSELS = dt.timezone(dt.timedelta(hours=1))


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_the_fixture_two_rooms_with_their_talks_in_order() -> None:
    schedule = parse_schedule(FIXTURE.read_bytes())
    assert schedule.title == "Edge Conf 2026"
    assert schedule.rooms == ["Hall A", "Room B/2"]
    assert [t.id for t in schedule.room_talks("Hall A")] == ["101", "102", "103"]
    # 202 (15:30+05:30 = 11:00+01:00) comes after 201 (10:00+01:00)
    assert [t.id for t in schedule.room_talks("room-b-2")] == ["201", "remote-202"]
    opening = schedule.talk("hall a", "101")
    assert opening is not None
    assert opening.title == "Opening: captions for everyone"
    assert opening.speakers == ("Alice Example",)
    assert opening.slug == "edgeconf26-101-opening"
    assert opening.url == "https://pretalx.example.org/edgeconf26/talk/AAA101/"
    assert opening.start == at("2026-02-07T10:00:00+01:00")
    assert opening.end == at("2026-02-07T10:30:00+01:00")
    # the slot without a duration is skipped, and said so
    assert schedule.talk("Hall A", "104") is None
    assert any("104" in note and "duration" in note for note in schedule.notes)


@pytest.mark.parametrize(
    ("room", "when", "current", "upcoming"),
    [
        ("Hall A", "2026-02-07T09:59:59+01:00", None, "101"),
        ("Hall A", "2026-02-07T10:00:00+01:00", "101", "102"),
        ("Hall A", "2026-02-07T09:15:00+00:00", "101", "102"),  # same instant, other offset
        ("Hall A", "2026-02-07T10:30:00+01:00", "102", "103"),  # end is exclusive
        ("Hall A", "2026-02-07T11:59:59+01:00", "102", "103"),
        ("Hall A", "2026-02-07T12:00:00+01:00", None, "103"),
        ("Hall A", "2026-02-07T23:59:00+01:00", "103", None),
        ("Hall A", "2026-02-08T00:29:59+01:00", "103", None),  # after midnight: still 103
        ("Hall A", "2026-02-08T00:30:00+01:00", None, None),
        ("Room B/2", "2026-02-07T09:45:00Z", None, "remote-202"),  # 201 ended at 09:45Z
        ("ROOM B 2", "2026-02-07T10:05:00+00:00", "remote-202", None),  # 15:35+05:30
        ("room b/2", "2026-02-07T10:50:29+00:00", "remote-202", None),  # 50 min 30 s long
        ("room b/2", "2026-02-07T10:50:30+00:00", None, None),
        ("Hall C", "2026-02-07T10:10:00+01:00", None, None),
    ],
)
def test_which_talk_runs_when(
    room: str, when: str, current: str | None, upcoming: str | None
) -> None:
    schedule = parse_schedule(FIXTURE.read_bytes())
    now = at(when)
    talk = schedule.talk_at(room, now)
    following = schedule.next_talk(room, now)
    assert (talk.id if talk else None) == current
    assert (following.id if following else None) == upcoming


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("00:30", dt.timedelta(minutes=30)),
        ("01:30", dt.timedelta(hours=1, minutes=30)),
        ("1:30", dt.timedelta(hours=1, minutes=30)),
        ("0:45", dt.timedelta(minutes=45)),
        ("00:50:30", dt.timedelta(minutes=50, seconds=30)),
        ("25:00", dt.timedelta(hours=25)),
        (" 00:05 ", dt.timedelta(minutes=5)),
    ],
)
def test_durations(text: str, expected: dt.timedelta) -> None:
    assert parse_clock(text, "duration") == expected


@pytest.mark.parametrize("text", ["90", "1h30", "00:60", "00:30:61", "", "-0:30", "1:3"])
def test_bad_durations_are_refused_with_the_value(text: str) -> None:
    with pytest.raises(ScheduleError, match="duration"):
        parse_clock(text, "duration")


PENTABARF = b"""<?xml version="1.0"?>
<schedule>
  <conference><title>FOSDEM-like</title><day_change>09:00:00</day_change>%s</conference>
  <day index="1" date="2026-02-01">
    <room name="Janson">
      <event id="6245"><start>10:00</start><duration>00:50</duration><room>Janson</room>
        <slug>osi</slug><title>Keynote</title>
        <persons><person id="228">Simon Phipps</person><person id="312"> </person></persons>
      </event>
      <event id="6300"><start>01:30</start><duration>01:00</duration><room>Janson</room>
        <slug>late</slug><title>After midnight, same conference day</title></event>
    </room>
  </day>
</schedule>"""


def test_without_date_the_day_and_the_conference_time_zone_give_the_start() -> None:
    zone = b"<time_zone_name>Europe/Brussels</time_zone_name>"
    schedule = parse_schedule(PENTABARF % zone)
    keynote, late = schedule.room_talks("janson")
    assert keynote.start == at("2026-02-01T10:00:00+01:00")
    assert keynote.speakers == ("Simon Phipps",)  # a blank person is left out
    # 01:30 is before the 09:00 day change: it is the night after, on 2 February
    assert late.start == at("2026-02-02T01:30:00+01:00")
    assert late.end == at("2026-02-02T02:30:00+01:00")
    assert schedule.notes == ()


def test_without_date_nor_time_zone_utc_is_assumed_and_noted() -> None:
    schedule = parse_schedule(PENTABARF % b"")
    keynote = schedule.room_talks("Janson")[0]
    assert keynote.start == at("2026-02-01T10:00:00+00:00")
    assert schedule.notes == ("events without <date> and no time_zone_name: read as UTC",)


def event(body: str, attributes: str = 'id="1"') -> bytes:
    return (
        f'<schedule><day date="2026-03-01"><room name="R"><event {attributes}>{body}</event>'
        f'<event id="99"><date>2026-03-01T08:00:00Z</date><duration>0:10</duration>'
        f"<title>ok</title></event></room></day></schedule>"
    ).encode()


@pytest.mark.parametrize(
    ("body", "attributes", "note"),
    [
        ("<title>t</title><duration>0:30</duration>", 'id="1"', "no <date>, and no day date"),
        ("<date>yesterday</date><duration>0:30</duration>", 'id="1"', "is not ISO 8601"),
        ("<date>2026-03-01T10:00:00Z</date>", 'id="1"', "no <duration>"),
        ("<date>2026-03-01T10:00:00Z</date><duration>1h</duration>", 'id="1"', "not H:MM"),
        ("<date>2026-03-01T10:00:00Z</date><duration>0:30</duration>", "", "no id, guid or slug"),
        ("<date>2026-03-01T10:00:00Z</date><duration>0:30</duration>", 'id="99"', "used twice"),
    ],
)
def test_an_unreadable_event_is_skipped_and_noted(body: str, attributes: str, note: str) -> None:
    schedule = parse_schedule(event(body, attributes))
    assert [t.id for t in schedule.talks] == ["99"]
    assert any(note in n for n in schedule.notes), schedule.notes


def test_missing_optional_fields_have_defaults() -> None:
    schedule = parse_schedule(event("<date>2026-03-01T10:00:00Z</date><duration>0:30</duration>"))
    talk = schedule.talk("R", "1")
    assert talk is not None
    assert (talk.title, talk.speakers, talk.slug, talk.room) == ("(untitled)", (), "1", "R")


def test_an_unsafe_id_falls_back_to_the_guid_and_the_slug_is_made_safe() -> None:
    data = event(
        "<date>2026-03-01T10:00:00Z</date><duration>0:30</duration><slug>a/../b c</slug>",
        'id="../x" guid="g-1"',
    )
    talk = parse_schedule(data).talk("R", "g-1")
    assert talk is not None
    assert talk.slug == "a-..-b-c"
    assert safe_name("///", "fallback") == "fallback"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "invalid XML at line 1"),
        (b"<schedule><day>", "invalid XML at line 1"),
        ((FIXTURES / "schedule" / "invalid.xml").read_bytes(), "line 6"),
        (b"<html><body>Not found</body></html>", "root element is <html>"),
        (b"<schedule><conference><title>x</title></conference></schedule>", "no usable event"),
        (event("<title>x</title>", 'id="1"').replace(b'<event id="99">', b'<event id="2">')
         .replace(b"<date>2026-03-01T08:00:00Z</date>", b""), "no usable event (2 unreadable"),
        (b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
         b"<schedule>&b;</schedule>", "declares the XML entity 'a'"),
        ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE s [<!ENTITY x SYSTEM '
         '"file:///etc/passwd">]><schedule>&x;</schedule>'.encode("utf-16"), "entity 'x'"),
    ],
)  # fmt: skip
def test_a_bad_document_is_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(ScheduleError, match=message.replace("(", r"\(")):
        parse_schedule(data)


@pytest.mark.parametrize(
    ("a", "b"),
    [("Hall A", "hall-a"), ("Room B/2", "room b 2"), ("H.1302 (Depage)", "h1302depage")],
)
def test_room_names_compare_without_case_and_punctuation(a: str, b: str) -> None:
    assert room_key(a) == room_key(b)


OVERLAPPING = b"""<schedule><day><room name="R">
<event id="long"><date>2026-03-01T10:00:00Z</date><duration>3:00</duration><title>a</title></event>
<event id="short"><date>2026-03-01T11:00:00Z</date><duration>0:30</duration><title>b</title></event>
<event id="late"><date>2026-03-01T14:00:00Z</date><duration>0:30</duration><title>c</title></event>
</room></day></schedule>"""


@pytest.mark.parametrize(
    ("when", "current", "upcoming"),
    [
        ("2026-03-01T09:00:00Z", None, "long"),
        ("2026-03-01T10:30:00Z", "long", "short"),
        ("2026-03-01T11:10:00Z", "short", "late"),  # of two running, the one started last
        ("2026-03-01T11:40:00Z", "long", "late"),  # the short one ended, the long one runs on
        ("2026-03-01T13:30:00Z", None, "late"),
        ("2026-03-01T14:29:59Z", "late", None),
        ("2026-03-01T15:00:00Z", None, None),
    ],
)
def test_overlapping_talks(when: str, current: str | None, upcoming: str | None) -> None:
    schedule = parse_schedule(OVERLAPPING)
    talk = schedule.talk_at("R", at(when))
    following = schedule.next_talk("r", at(when))
    assert (talk.id if talk else None, following.id if following else None) == (current, upcoming)

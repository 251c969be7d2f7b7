"""The replication decisions (edge_server.core.replication): ids, what to send next, redacted
addresses, duplicates, the overview's stale marks and alarms. Tables, no I/O."""

from __future__ import annotations

import json

import pytest

from edge_server.core.replication import (
    ReplicationState,
    ReplicationUrlError,
    check_url,
    entry_fields,
    entry_id,
    is_duplicate_error,
    overview,
    pending,
    record_of,
    redact_url,
    room_alarms,
    segment_of,
)
from edge_server.core.settings import SettingsError, load_settings


@pytest.mark.parametrize(("segment", "stream_id"), [(1, "1-0"), (17, "17-0"), (123456, "123456-0")])
def test_entry_ids_are_the_segment(segment: int, stream_id: str) -> None:
    assert entry_id(segment) == stream_id
    assert segment_of(stream_id) == segment
    assert segment_of(stream_id.encode()) == segment


def test_segment_zero_is_no_final() -> None:
    with pytest.raises(ValueError, match="segment 0"):
        entry_id(0)
    assert segment_of("0-0") == 0


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:s3cret@hub:6379/0", "redis://:***@hub:6379/0"),
        ("rediss://edge:s3cret@10.0.0.9:6380/2", "rediss://edge:***@10.0.0.9:6380/2"),
        ("redis://hub:6379", "redis://hub:6379"),
        ("redis://:pw@[::1]:6379/0", "redis://:***@[::1]:6379/0"),
    ],
)
def test_addresses_are_shown_without_their_password(url: str, shown: str) -> None:
    assert check_url(url) == url
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://:pw@hub:6379", "must start with redis://"),
        ("hub:6379", "must start with redis://"),
        ("redis://", "names no host"),
        ("redis://:pw@hub:99999/0", "invalid port"),
    ],
)
def test_bad_addresses_are_refused_without_the_password(url: str, message: str) -> None:
    with pytest.raises(ReplicationUrlError, match=message) as caught:
        check_url(url)
    assert "pw@" not in str(caught.value)


def test_settings_name_a_bad_address() -> None:
    with pytest.raises(SettingsError, match="replicate_to: 'http://:\\*\\*\\*@hub/0'"):
        load_settings(env={"EDGE_SERVER_REPLICATE_TO": "http://:secret@hub/0"})
    settings = load_settings(env={"EDGE_SERVER_REPLICATE_TO": "redis://:secret@hub/0"})
    assert settings.replicate_to == "redis://:secret@hub/0"
    assert "secret" not in repr(settings)


def test_pending_is_in_segment_order_once_each_after_the_cursor() -> None:
    file = [{"segment": s, "text": f"f{s}"} for s in (1, 2, 3, 4)]
    held = [{"segment": 4, "text": "h4", "unsaved": True}, {"segment": 5, "text": "h5"}]
    chosen = pending([*file, *held], after=2, limit=10)
    assert [(r["segment"], r["text"]) for r in chosen] == [(3, "f3"), (4, "f4"), (5, "h5")]
    assert [r["segment"] for r in pending([*held, *file], after=0, limit=2)] == [1, 2]
    assert pending(file, after=4, limit=10) == []


def test_entries_carry_the_record_without_the_unsaved_mark() -> None:
    record = {"type": "final", "segment": 3, "text": "ciao", "unsaved": True}
    fields = entry_fields(record)
    assert json.loads(fields["final"]) == {"type": "final", "segment": 3, "text": "ciao"}
    assert record_of({b"final": fields["final"].encode()})["segment"] == 3
    assert record_of({b"other": b"x"}) is None
    assert record_of({b"final": b"not json"}) is None
    assert record_of(None) is None


def test_redis_refusal_of_an_old_id_is_a_duplicate() -> None:
    message = "The ID specified in XADD is equal or smaller than the target stream top item"
    assert is_duplicate_error(message)
    assert not is_duplicate_error("WRONGPASS invalid username-password pair")


def test_replication_state_reports_and_alarms() -> None:
    state = ReplicationState(target="redis://:***@hub:6379/0", sent_through=10, newest=14)
    assert state.behind == 4
    assert state.alarm("hall") is None
    state.state, state.error = "failing", "cannot reach Redis"
    assert state.alarm("hall") == (
        "room hall: replication to redis://:***@hub:6379/0 failing (cannot reach Redis); "
        "4 finals wait on the Pi and are sent when it answers"
    )


@pytest.mark.parametrize(
    ("status", "now", "stale", "first_alarm"),
    [
        (None, 100.0, True, "room hall: has never sent a status"),
        ({"written": 90.0, "alarms": []}, 100.0, False, None),
        ({"written": 80.0, "alarms": ["x"]}, 100.0, True, "room hall: no status for 20 s"),
        ("not json", 100.0, True, "room hall: has never sent a status"),
    ],
)
def test_overview_marks_rooms_stale(
    status: object, now: float, stale: bool, first_alarm: str | None
) -> None:
    raw = status if isinstance(status, str) or status is None else json.dumps(status)
    line = overview("hall", raw, now, stale_s=15.0)
    assert line.stale is stale
    if first_alarm is None:
        assert line.alarms == ()
    else:
        assert line.alarms[0].startswith(first_alarm)


@pytest.mark.parametrize(
    ("screen", "alarms"),
    [
        ({"room": "a", "audio": "flowing", "signal": None}, []),
        ({"room": "a", "audio": "absent"}, ["room a: no audio source connected"]),
        (
            {"room": "a", "audio": "flowing", "signal": {"no_signal": True, "clipping": False}},
            ["room a: no signal (the source is silent)"],
        ),
        ({"room": "a", "audio": "flowing", "offline": True}, ["room a: on the offline engine"]),
    ],
)
def test_audio_alarms_from_the_screen_status(screen: dict, alarms: list[str]) -> None:
    assert room_alarms(screen) == alarms

"""Journal fields bound to the logging code's context (pure: records in, fields out)."""

from __future__ import annotations

import asyncio
import contextvars
import logging

import pytest

from edge_server.contract.log_fields import (
    LogFieldsFilter,
    current_log_fields,
    field_name,
    is_field_name,
    log_fields,
    record_fields,
    set_log_fields,
)


@pytest.mark.parametrize(
    ("key", "expected"),
    [("room", "ROOM"), ("SESSION", "SESSION"), ("talk_id", "TALK_ID"), ("x" * 64, "X" * 64)],
)
def test_field_names(key: str, expected: str) -> None:
    assert field_name(key) == expected


@pytest.mark.parametrize("key", ["", "_pid", "9room", "room-name", "r\u00f6om", "x" * 65, "a b"])
def test_bad_field_names_are_refused_with_the_rule(key: str) -> None:
    with pytest.raises(ValueError, match="not a journal field name"):
        field_name(key)
    assert not is_field_name(key.upper())


def _record(**attributes: object) -> logging.LogRecord:
    record = logging.LogRecord("edge_server.test", logging.INFO, __file__, 1, "m", (), None)
    for name, value in attributes.items():
        setattr(record, name, value)
    return record


def test_fields_follow_the_context_and_extra_wins() -> None:
    def body() -> None:
        set_log_fields(room="aula-magna", session="aula-magna-1")
        with log_fields(engine="pocketsphinx"):
            record = _record(ENGINE="transcribe")  # as extra={"ENGINE": ...} makes it
            assert LogFieldsFilter().filter(record)
            assert record_fields(record) == {
                "ROOM": "aula-magna", "SESSION": "aula-magna-1", "ENGINE": "transcribe",
            }  # fmt: skip
        assert current_log_fields() == {"ROOM": "aula-magna", "SESSION": "aula-magna-1"}
        set_log_fields(session=None)  # None removes
        assert current_log_fields() == {"ROOM": "aula-magna"}
        set_log_fields(room="")
        assert current_log_fields() == {}

    contextvars.copy_context().run(body)
    assert current_log_fields() == {}, "nothing leaks out of the context"


def test_record_fields_keep_only_journal_names() -> None:
    record = _record(ROOM="a", lower="x", _PRIVATE="y", NONE=None, COUNT=3)
    assert record_fields(record) == {"ROOM": "a", "COUNT": "3"}


async def test_tasks_inherit_and_keep_their_own() -> None:
    set_log_fields(room="aula-magna")

    async def session() -> dict[str, str]:
        set_log_fields(session="aula-magna-2")
        inner = await asyncio.to_thread(current_log_fields)  # threads get a copy too
        assert inner == current_log_fields()
        return inner

    assert await asyncio.create_task(session()) == {
        "ROOM": "aula-magna", "SESSION": "aula-magna-2",
    }  # fmt: skip
    assert current_log_fields() == {"ROOM": "aula-magna"}, "the task's field stayed in it"

"""A room's recent problems (edge_server.core.error_log)."""

from __future__ import annotations

import re

from edge_server.core.error_log import ErrorLog
from edge_server.core.wall_time import utc_now


def test_keeps_the_latest_problems_oldest_first() -> None:
    log = ErrorLog(keep=3)
    assert log.last is None
    assert log.entries() == []
    for i in range(5):
        log.add(f"problem {i}", at=f"t{i}")
    assert log.last == "problem 4"
    assert log.entries() == [
        {"at": "t2", "message": "problem 2"},
        {"at": "t3", "message": "problem 3"},
        {"at": "t4", "message": "problem 4"},
    ]


def test_an_empty_message_is_not_a_problem_and_times_are_utc() -> None:
    log = ErrorLog()
    log.add("")
    assert log.entries() == []
    log.add("disk full")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", log.entries()[0]["at"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", utc_now())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", utc_now("seconds"))

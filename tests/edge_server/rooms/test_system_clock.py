"""The clock check: the kernel's answer through adjtimex(2), and what the registry makes of it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from edge_server.rooms.registry import RoomRegistry
from edge_server.rooms.system_clock import clock_state
from tests.helpers.live_server import make_settings


def test_the_kernel_answers_on_linux() -> None:
    synchronized, detail = clock_state()
    assert synchronized in (True, False)  # this machine has adjtimex: never "unknown"
    expected = "kernel: synchronized" if synchronized else "kernel: not synchronized"
    assert detail.startswith(expected)


def test_an_unsynchronized_clock_is_an_error_only_with_a_schedule(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "edge_server.rooms.registry")
    without = RoomRegistry(make_settings(tmp_path))
    without.clock_probe = lambda: (False, "kernel: not synchronized")
    without.check_clock()
    assert [r.levelname for r in caplog.records] == ["INFO"]
    assert without.talks.alarms() == []
    caplog.clear()
    registry = RoomRegistry(make_settings(tmp_path, schedule="schedule.xml"))
    registry.clock_probe = lambda: (False, "kernel: not synchronized")
    registry.check_clock()
    registry.check_clock()  # logged once, not every second
    [record] = caplog.records
    assert record.levelname == "ERROR"
    assert "THE SYSTEM CLOCK IS NOT SYNCHRONIZED" in record.getMessage()
    assert registry.talks.clock_synchronized is False
    registry.clock_probe = lambda: (True, "kernel: synchronized (adjtimex TIME_OK)")
    registry.check_clock()
    assert registry.talks.clock_synchronized is True
    assert (
        caplog.records[-1].getMessage() == "system clock: kernel: synchronized (adjtimex TIME_OK)"
    )


def test_trust_clock_attributes_anyway(tmp_path: Path) -> None:
    registry = RoomRegistry(make_settings(tmp_path, schedule="schedule.xml", trust_clock=True))
    registry.clock_probe = lambda: (False, "kernel: not synchronized")
    registry.check_clock()
    assert registry.talks.clock_synchronized is True
    assert registry.talks.clock_detail == "kernel: not synchronized; trusted anyway (trust_clock)"
    assert registry.talks.alarms() == []


def test_the_step_at_synchronization_is_saved_and_read_back(tmp_path: Path) -> None:
    registry = RoomRegistry(make_settings(tmp_path, schedule="schedule.xml"))
    registry.clock_probe = lambda: (True, "kernel: synchronized")
    registry.check_clock()
    assert registry.talks.clock_steps == []  # never unsynchronized: no step
    registry.clock_probe = lambda: (False, "kernel: not synchronized")
    registry.check_clock()
    registry.clock_probe = lambda: (True, "kernel: synchronized")
    registry.check_clock()
    [step] = registry.talks.clock_steps
    assert abs(step.step_s) < 1.0  # the real clock did not move here
    assert (tmp_path / "clock-steps.jsonl").read_text() == step.to_json() + "\n"
    again = RoomRegistry(make_settings(tmp_path, schedule="schedule.xml"))
    assert [s.before for s in again.talks.clock_steps] == [step.before]

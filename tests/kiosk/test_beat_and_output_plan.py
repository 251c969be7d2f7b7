"""The kiosk watchdog's decisions (kiosk.beat) and the screen's mode plan (kiosk.output_plan):
pure tables, no browser. The real browser is in tests/web/test_kiosk_watchdog.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.beat import BeatTracker, PageBeat, Verdict, WatchPolicy, parse_beat
from kiosk.output_plan import (
    Mode,
    Output,
    choose_mode,
    parse_wanted_mode,
    parse_wlr_randr,
    plan,
)
from kiosk.watchdog import kiosk_address, parse_args, start_address

POLICY = WatchPolicy(stall_s=10, grace_s=30, max_quiet_restarts=3)


def beat(frames: int, page: str = "kiosk") -> PageBeat:
    return PageBeat(frames=frames, page=page, connection="open", ready=False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"frames": 3, "page": "kiosk", "connection": "open"}, PageBeat(3, "kiosk", "open", False)),
        ({"frames": 1, "page": "waiting", "ready": True}, PageBeat(1, "waiting", "none", True)),
        (None, None),  # a browser error page: no beat object
        ({"frames": "3", "page": "kiosk"}, None),
        ({"frames": True, "page": "kiosk"}, None),
        ({"frames": -1, "page": "kiosk"}, None),
        ({"frames": 2, "page": ""}, None),
        ([1, 2], None),
    ],
)
def test_parse_beat(value: object, expected: PageBeat | None) -> None:
    assert parse_beat(value) == expected


def test_a_new_browser_has_its_grace_then_must_beat() -> None:
    tracker = BeatTracker(POLICY)
    assert tracker.verdict(0) is Verdict.STALLED  # nothing started yet
    tracker.started(100)
    assert tracker.verdict(129) is Verdict.STARTING
    assert tracker.keeps_systemd_happy(129)
    assert tracker.verdict(130) is Verdict.STALLED
    assert not tracker.keeps_systemd_happy(130)


def test_beats_keep_it_alive_and_frozen_frames_stall_it() -> None:
    tracker = BeatTracker(POLICY)
    tracker.started(0)
    assert tracker.reading(1, beat(5))
    assert not tracker.reading(2, None)  # a probe that timed out
    assert tracker.verdict(10.9) is Verdict.ALIVE
    assert not tracker.reading(8, beat(5))  # same frame count: the page stopped drawing
    assert tracker.verdict(11) is Verdict.STALLED
    tracker.reading(12, beat(9))
    assert tracker.verdict(12) is Verdict.ALIVE


def test_a_crash_stalls_at_once() -> None:
    tracker = BeatTracker(POLICY)
    tracker.started(0)
    tracker.reading(1, beat(1))
    tracker.crash()
    assert tracker.verdict(1.5) is Verdict.STALLED


def test_it_gives_up_after_quiet_restarts_and_a_beat_resets_the_count() -> None:
    tracker = BeatTracker(POLICY)
    tracker.started(0)
    for n in range(1, 4):
        tracker.started(40 * n)  # each browser stayed silent
    assert tracker.quiet_restarts == 3
    assert tracker.gives_up()
    tracker.reading(200, beat(1))
    tracker.started(300)
    assert tracker.quiet_restarts == 0
    assert not tracker.gives_up()


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="stall_s"):
        WatchPolicy(stall_s=0)


def test_token_goes_into_the_address_only_over_the_pipe() -> None:
    url = "http://room-a-audio.local:8080/kiosk/aula-magna?lang=it,de"
    assert kiosk_address(url, None) == url
    assert kiosk_address(url, "s3cr&t") == (
        "http://room-a-audio.local:8080/kiosk/aula-magna?lang=it%2Cde&token=s3cr%26t"
    )
    start = start_address(Path("/usr/share/edge-kiosk/waiting.html"), url)
    assert start == f"file:///usr/share/edge-kiosk/waiting.html?via=watchdog#{url}"


def test_watchdog_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    options = parse_args(["--url", "http://a.local:8080/kiosk/r", "--stall=20", "--", "cage", "x"])
    assert options.browser == ("cage", "x")
    assert options.policy.stall_s == 20
    for bad in (
        ["--url", "http://a/kiosk/r?token=x", "--", "b"],  # the token never on argv
        ["--url", "file:///x", "--", "b"],
        ["--url", "http://a/kiosk/r"],  # no browser
        ["--url", "http://a/kiosk/r", "--stall=0", "--", "b"],
    ):
        with pytest.raises(SystemExit) as exit_:
            parse_args(bad)
        assert exit_.value.code == 2
    assert "must not carry the token" in capsys.readouterr().err


WLR_RANDR = """\
HDMI-A-1 "Samsung Electric Company SAMSUNG (HDMI-A-1)"
  Make: Samsung Electric Company
  Model: SAMSUNG
  Serial: 0x01000E00
  Physical size: 1600x900 mm
  Enabled: yes
  Modes:
    3840x2160 px, 60.000000 Hz (preferred, current)
    3840x2160 px, 30.000000 Hz
    1920x1080 px, 120.000000 Hz
    1920x1080 px, 60.000000 Hz
    1920x1080 px, 50.000000 Hz
    1280x720 px, 60.000000 Hz
  Position: 0,0
  Transform: normal
  Scale: 1.000000
HDMI-A-2 "Old Monitor"
  Enabled: yes
  Modes:
    1280x1024 px, 60.020000 Hz (preferred, current)
  Position: 3840,0
  Transform: normal
"""


def test_parse_wlr_randr() -> None:
    outputs = parse_wlr_randr(WLR_RANDR)
    assert [o.name for o in outputs] == ["HDMI-A-1", "HDMI-A-2"]
    assert outputs[0].description.startswith("Samsung")
    assert len(outputs[0].modes) == 6
    assert outputs[0].modes[0] == Mode(3840, 2160, 60.0, current=True)
    assert outputs[1].modes == (Mode(1280, 1024, 60.02, current=True),)
    assert parse_wlr_randr("") == []


@pytest.mark.parametrize(
    ("wanted", "rotation", "expected"),
    [
        # A 4K TV gets 1080p at 60 Hz (not 120); the old monitor lacks it and keeps its own.
        ((1920, 1080), 0, [["--output", "HDMI-A-1", "--mode", "1920x1080@60.000000Hz"]]),
        (
            (1920, 1080),
            90,
            [
                ["--output", "HDMI-A-1", "--mode", "1920x1080@60.000000Hz", "--transform", "90"],
                ["--output", "HDMI-A-2", "--transform", "90"],
            ],
        ),
        (None, 0, []),  # the screen's own choice, no rotation: nothing to run
        ((3840, 2160), 0, []),  # already current
        ((1280, 1024), 180, [
            ["--output", "HDMI-A-1", "--transform", "180"],
            ["--output", "HDMI-A-2", "--transform", "180"],
        ]),
    ],
)  # fmt: skip
def test_plan(wanted: tuple[int, int] | None, rotation: int, expected: list[list[str]]) -> None:
    assert plan(parse_wlr_randr(WLR_RANDR), wanted, rotation) == expected


def test_choose_mode_above_60_only_when_nothing_else() -> None:
    only_fast = Output("X", modes=(Mode(1920, 1080, 144.0), Mode(1920, 1080, 120.0)))
    assert choose_mode(only_fast, (1920, 1080)) == Mode(1920, 1080, 120.0)
    assert choose_mode(only_fast, (1280, 720)) is None


@pytest.mark.parametrize(("value", "expected"), [("1920x1080", (1920, 1080)), ("", None)])
def test_parse_wanted_mode(value: str, expected: tuple[int, int] | None) -> None:
    assert parse_wanted_mode(value) == expected


@pytest.mark.parametrize("value", ["1080p", "1920\u00d71080", "19x10", "1920x1080@60"])
def test_parse_wanted_mode_refuses(value: str) -> None:
    with pytest.raises(ValueError, match="like 1920x1080"):
        parse_wanted_mode(value)


def test_plan_refuses_a_bad_rotation() -> None:
    with pytest.raises(ValueError, match="rotation"):
        plan([], None, 45)

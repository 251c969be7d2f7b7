"""The Pi-budget talk's pure parts: building the talk, attributing finals, summarizing."""

from __future__ import annotations

import pytest

from bench.lib.talk import attribute, build_talk, growth, per_minute, talk_wer, trend

ONE_S = b"\1\0" * 16000


def test_build_talk_loops_recordings_with_pauses() -> None:
    pcm, segments = build_talk([(ONE_S, "one"), (ONE_S * 2, "two two")], 7.0, pause_s=0.5)
    assert [(s.start_s, s.end_s, s.reference) for s in segments] == [
        (0.0, 1.0, "one"), (1.5, 3.5, "two two"), (4.0, 5.0, "one"), (5.5, 7.5, "two two"),
    ]  # fmt: skip
    assert len(pcm) == 8 * 32000
    with pytest.raises(ValueError, match="no recordings"):
        build_talk([], 1.0)


def test_finals_go_to_the_segment_holding_their_middle() -> None:
    _, segments = build_talk([(ONE_S, "a b"), (ONE_S, "c d")], 3.0, pause_s=1.0)
    finals = [(0.1, 0.5, "A"), (0.6, 1.9, "b."), (2.1, 2.9, "C d.")]
    assert attribute(segments, finals) == ["A b.", "C d."]
    assert talk_wer(segments, finals) == 0.0


def test_per_minute_growth_and_trend() -> None:
    steady = [(t, 0.5 + (0.2 if t % 20 == 0 else 0.0)) for t in range(0, 600, 5)]
    minutes = per_minute(steady)
    assert len(minutes) == 10
    assert all(m["count"] == 12 for m in minutes)
    assert growth(minutes) == 0.0
    assert abs(trend(steady) or 0.0) < 0.05
    falling_behind = [(t, 0.5 + t / 60) for t in range(0, 600, 5)]
    assert trend(falling_behind) == pytest.approx(9.92, abs=0.01)
    assert growth(per_minute(falling_behind)) == pytest.approx(9.0, abs=0.01)
    assert trend([(0.0, 1.0)]) is None
    assert per_minute([]) == []

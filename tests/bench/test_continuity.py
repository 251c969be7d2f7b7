"""Audio continuity as tables: (wall s, received audio s) readings in, what was lost or late out
(bench/lib/continuity.py)."""

from __future__ import annotations

import pytest

from bench.lib.continuity import continuity


def test_a_node_that_keeps_up_loses_nothing() -> None:
    found = continuity([(10.0, 0.0), (10.5, 0.5), (11.0, 1.0), (11.5, 1.5)])
    assert found == {
        "wall_s": 1.5,
        "received_s": 1.5,
        "shortfall_s": 0.0,
        "shortfall_percent": 0.0,
        "lost": False,
        "max_behind_s": 0.0,
        "longest_stall_s": 0.0,
    }


def test_audio_that_never_arrives_is_a_shortfall() -> None:
    found = continuity([(0.0, 0.0), (1.0, 1.0), (2.0, 1.0), (3.0, 2.0)])
    assert found["shortfall_s"] == 1.0
    assert found["lost"] is True
    assert found["max_behind_s"] == 1.0
    assert found["longest_stall_s"] == 1.0


def test_audio_held_up_then_sent_is_behind_but_not_lost() -> None:
    found = continuity([(0.0, 0.0), (1.0, 0.2), (2.0, 0.2), (3.0, 3.0)])
    assert found["shortfall_s"] == 0.0
    assert found["lost"] is False
    assert found["max_behind_s"] == 1.8
    assert found["longest_stall_s"] == 1.0


def test_a_shortfall_within_the_tolerance_is_none() -> None:
    assert continuity([(0.0, 10.0), (60.0, 69.8)])["lost"] is False
    assert continuity([(0.0, 10.0), (60.0, 69.8)], tolerance_s=0.1)["lost"] is True


def test_one_reading_is_not_enough() -> None:
    with pytest.raises(ValueError, match="two readings"):
        continuity([(0.0, 0.0)])

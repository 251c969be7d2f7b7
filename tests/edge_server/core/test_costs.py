"""Cost estimates (pure)."""

from __future__ import annotations

import pytest

from edge_server.core.costs import CostMeter


def test_an_hour_of_cloud_captions_with_two_languages() -> None:
    meter = CostMeter()
    meter.add_audio("transcribe", 3000 * 32000)
    meter.add_audio("pocketsphinx", 600 * 32000)  # offline during an outage: free
    sentence = "x" * 100
    for _ in range(600):
        meter.add_translation(sentence, targets=2)
        meter.add_synthesis("neural", sentence)
    estimate = meter.estimate()
    assert estimate["usage"]["recognizer_minutes"] == {"pocketsphinx": 10.0, "transcribe": 50.0}
    assert estimate["usage"]["translated_chars"] == 120_000
    assert estimate["usd"]["recognizer"] == pytest.approx(50 * 0.024)
    assert estimate["usd"]["translate"] == pytest.approx(0.12 * 15.0)
    assert estimate["usd"]["polly"] == pytest.approx(0.06 * 16.0)
    assert estimate["usd"]["total"] == pytest.approx(1.2 + 1.8 + 0.96)


def test_offline_room_costs_nothing() -> None:
    meter = CostMeter()
    meter.add_audio("pocketsphinx", 36000 * 32000)
    assert meter.estimate()["usd"]["total"] == 0.0

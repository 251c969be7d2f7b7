"""Signal level meter (pure): RMS/peak dBFS, clipping, silence timer, no-signal alarm."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edge_audio.pcm.meter import FLOOR_DBFS, LevelMeter, LevelReport, dbfs

RATE = 16000


def sine(amplitude: float, seconds: float = 1.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    wave = (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return np.repeat(wave[:, None], channels, axis=1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1.0, 0.0), (0.5, -6.02), (0.1, -20.0), (1e-3, -60.0), (0.0, FLOOR_DBFS), (1e-9, FLOOR_DBFS),
     (-1.0, FLOOR_DBFS), (math.nan, FLOOR_DBFS)],
)  # fmt: skip
def test_dbfs(value: float, expected: float) -> None:
    assert dbfs(value) == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize(
    ("block", "rms", "peak", "clipping"),
    [
        (sine(1.0), -3.01, 0.0, True),  # a full-scale sine reaches full scale many times
        (sine(0.5), -9.03, -6.02, False),
        (sine(0.1, channels=2), -23.01, -20.0, False),
        (np.zeros((RATE, 1), np.float32), FLOOR_DBFS, FLOOR_DBFS, False),
        (np.clip(sine(2.0), -1, 1), -0.9, 0.0, True),  # a clipped waveform
    ],
)
def test_levels_of_one_second(block: np.ndarray, rms: float, peak: float, clipping: bool) -> None:
    [report] = LevelMeter(RATE).add(block)
    assert report.rms_dbfs == pytest.approx(rms, abs=0.2)
    assert report.peak_dbfs == pytest.approx(peak, abs=0.05)
    assert report.clipping is clipping


def test_two_full_scale_samples_are_not_clipping_three_are() -> None:
    block = sine(0.1)
    block[100, 0] = block[5000, 0] = 1.0
    assert LevelMeter(RATE).add(block)[0].clipping is False
    block[9000, 0] = -1.0
    assert LevelMeter(RATE).add(block)[0].clipping is True


def test_clipping_in_one_channel_shows_even_when_mixed() -> None:
    block = sine(0.1, channels=2)
    block[:, 1] = np.clip(sine(3.0)[:, 0], -1, 1)
    assert LevelMeter(RATE).add(block)[0].clipping is True


def test_reports_come_once_per_window_of_audio() -> None:
    meter = LevelMeter(RATE)
    reports = [r for _ in range(25) for r in meter.add(sine(0.3, seconds=0.1))]
    assert len(reports) == 2  # 2.5 s of audio: two whole windows
    assert meter.add(np.zeros((0, 1), np.float32)) == []


@pytest.mark.parametrize(
    ("levels", "silent", "alarm"),
    [
        ([0.3, 0.3, 0.3], [0.0, 0.0, 0.0], [False] * 3),
        ([0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0], [False, False, True, True]),
        ([0.0, 0.0, 0.0, 0.3, 0.0], [1.0, 2.0, 3.0, 0.0, 1.0], [False, False, True, False, False]),
        ([0.001, 0.001, 0.001], [1.0, 2.0, 3.0], [False, False, True]),  # -63 dBFS hum: silent
        ([0.01, 0.01, 0.01], [0.0, 0.0, 0.0], [False] * 3),  # -43 dBFS: a quiet talker
    ],
)
def test_silence_timer_and_alarm(
    levels: list[float], silent: list[float], alarm: list[bool]
) -> None:
    meter = LevelMeter(RATE, silence_dbfs=-50.0, no_signal_s=3.0)
    reports = [meter.add(sine(level))[0] for level in levels]
    assert [r.silent_s for r in reports] == pytest.approx(silent)
    assert [r.no_signal for r in reports] == alarm


def test_idle_counts_as_silence() -> None:
    meter = LevelMeter(RATE, no_signal_s=5.0)
    meter.add(np.zeros((RATE, 1), np.float32))
    report = meter.idle(4.5)
    assert (report.rms_dbfs, report.silent_s, report.no_signal) == (FLOOR_DBFS, 5.5, True)
    assert meter.add(sine(0.5))[0].silent_s == 0.0


def test_message_matches_the_protocol() -> None:
    report = LevelReport(-23.456, -6.04, False, 12.345, False)
    assert report.to_message() == {
        "type": "level", "rms_dbfs": -23.5, "peak_dbfs": -6.0, "clipping": False,
        "silent_s": 12.3, "no_signal": False,
    }  # fmt: skip


def test_invalid_meter() -> None:
    with pytest.raises(ValueError, match="positive"):
        LevelMeter(0)

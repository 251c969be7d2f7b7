"""PcmConverter: resampling, channel selection, clipping, block-size independence."""

from __future__ import annotations

import numpy as np
import pytest

from edge_audio.pcm.convert import PcmConverter

OUT_RATE = 16000
RESAMPLER_SLACK = 16  # samples of length difference tolerated after flush


def sine(rate: int, freq: float, seconds: float = 1.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def to_float(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0


def peak_hz(samples: np.ndarray, rate: int = OUT_RATE) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples**2)))


def convert_all(conv: PcmConverter, block: np.ndarray, sizes: list[int] | None = None) -> bytes:
    if sizes is None:
        return conv.convert(block) + conv.flush()
    out, pos = [], 0
    for size in sizes:
        out.append(conv.convert(block[pos : pos + size]))
        pos += size
    out.append(conv.convert(block[pos:]))
    out.append(conv.flush())
    return b"".join(out)


@pytest.mark.parametrize(
    ("rate", "channels", "freq"),
    [
        (48000, 2, 440.0),
        (48000, 1, 1000.0),
        (44100, 1, 440.0),
        (44100, 2, 3000.0),
        (22050, 1, 440.0),
        (8000, 1, 440.0),
        (8000, 2, 1500.0),
        (16000, 1, 440.0),
    ],
)
def test_resampling_keeps_frequency_amplitude_and_length(rate, channels, freq):
    mono = sine(rate, freq)
    block = np.repeat(mono[:, None], channels, axis=1)
    out = to_float(convert_all(PcmConverter(rate, channels), block))

    assert abs(len(out) - OUT_RATE) <= RESAMPLER_SLACK
    assert abs(peak_hz(out) - freq) <= 2.0
    middle = out[1600:-1600]  # away from the resampler's edges
    assert rms(middle) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


def test_identity_rate_is_bit_exact_for_int16_input():
    ints = np.random.default_rng(7).integers(-32768, 32768, size=5000, dtype=np.int16)
    block = (ints.astype(np.float32) / 32768.0)[:, None]
    conv = PcmConverter(16000, 1)
    assert conv.convert(block) == ints.astype("<i2").tobytes()
    assert conv.flush() == b""


@pytest.mark.parametrize(("channel", "freq"), [(0, 440.0), (1, 1250.0), (2, 3100.0)])
def test_channel_selection_picks_that_channel(channel, freq):
    block = np.stack([sine(48000, 440.0), sine(48000, 1250.0), sine(48000, 3100.0)], axis=1)
    out = to_float(convert_all(PcmConverter(48000, 3, channel), block))
    assert abs(peak_hz(out) - freq) <= 2.0
    assert rms(out[1600:-1600]) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [(0.5, -0.3, 3277), (0.25, 0.25, 8192), (1.0, -1.0, 0), (-0.5, -0.5, -16384)],
)
def test_mix_averages_channels(left, right, expected):
    block = np.array([[left, right]] * 100, dtype=np.float32)
    out = np.frombuffer(PcmConverter(16000, 2, "mix").convert(block), dtype="<i2")
    assert (out == expected).all()


def test_mix_of_two_tones_keeps_both_at_half_level():
    block = np.stack([sine(48000, 440.0), sine(48000, 2000.0)], axis=1)
    out = to_float(convert_all(PcmConverter(48000, 2, "mix"), block))
    spectrum = np.abs(np.fft.rfft(out))
    freqs = np.fft.rfftfreq(len(out), 1 / OUT_RATE)
    top_two = sorted(float(f) for f in freqs[np.argsort(spectrum)[-2:]])
    assert top_two == pytest.approx([440.0, 2000.0], abs=2.0)
    assert rms(out[1600:-1600]) == pytest.approx(0.5 / 2, rel=0.03)  # two tones at 0.25 each


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, 32767),
        (-1.0, -32768),
        (1.5, 32767),
        (-7.0, -32768),
        (0.5, 16384),
        (-0.5, -16384),
        (0.0, 0),
        (32767 / 32768, 32767),
        (float("nan"), 0),
        (float("inf"), 32767),
        (float("-inf"), -32768),
    ],
)
def test_clipping_saturates_without_wraparound(value, expected):
    block = np.full((10, 1), value, dtype=np.float32)
    out = np.frombuffer(PcmConverter(16000, 1).convert(block), dtype="<i2")
    assert (out == expected).all()


def test_clipping_after_resampling_saturates():
    block = sine(48000, 440.0, amplitude=1.6)[:, None]
    out = np.frombuffer(convert_all(PcmConverter(48000, 1), block), dtype="<i2")
    assert out.max() == 32767
    assert out.min() == -32768
    # no wraparound: a positive half-wave never contains large negative samples
    reference = sine(OUT_RATE, 440.0, amplitude=1.0)[: len(out)]
    assert np.corrcoef(out.astype(np.float64), reference)[0, 1] > 0.95


@pytest.mark.parametrize("rate", [48000, 44100, 8000, 16000])
@pytest.mark.parametrize("seed", [1, 2])
def test_arbitrary_block_sizes_give_the_same_output(rate, seed):
    block = np.stack([sine(rate, 440.0), sine(rate, 900.0)], axis=1)
    rng = np.random.default_rng(seed)
    sizes = [int(n) for n in rng.choice([0, 1, 7, 160, 441, 1024, 4800], size=40)]
    whole = convert_all(PcmConverter(rate, 2, "mix"), block)
    pieces = convert_all(PcmConverter(rate, 2, "mix"), block, sizes)
    assert pieces == whole


def test_flush_resets_for_a_new_stream():
    block = sine(44100, 440.0, seconds=0.3)[:, None]
    conv = PcmConverter(44100, 1)
    first = convert_all(conv, block)
    second = convert_all(conv, block)
    assert first == second


def test_one_dimensional_blocks_accepted_for_mono():
    mono = sine(16000, 440.0, seconds=0.1)
    conv = PcmConverter(16000, 1)
    assert conv.convert(mono) == conv.convert(mono[:, None])


@pytest.mark.parametrize(
    ("rate", "channels", "channel"),
    [(0, 1, "mix"), (16000, 0, "mix"), (16000, 2, 2), (16000, 2, -1), (48000, 1, 1)],
)
def test_invalid_construction(rate, channels, channel):
    with pytest.raises(ValueError, match=r"rate|channel"):
        PcmConverter(rate, channels, channel)


def test_wrong_block_shape_is_refused():
    conv = PcmConverter(48000, 2)
    with pytest.raises(ValueError, match=r"\(frames, 2\)"):
        conv.convert(np.zeros((10, 3), dtype=np.float32))

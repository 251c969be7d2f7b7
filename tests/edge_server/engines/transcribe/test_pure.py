"""The pure parts of the Transcribe engine: requests, results to hypotheses, rotation decisions.
Tables in, expectations out; no SDK, no sockets. (What the AWS engines share, error kinds and
targets: tests/edge_server/engines/aws.)"""

from __future__ import annotations

import struct

import pytest
from amazon_transcribe.model import Alternative, Item, Result

from edge_server.core.engine_api import UnsupportedLanguage, Word
from edge_server.engines.transcribe.options import (
    StreamPlan,
    TranscribeOptions,
    plan_stream,
    request_arguments,
    supported_languages,
)
from edge_server.engines.transcribe.results import ResultConverter, words_of
from edge_server.engines.transcribe.rotation import (
    RotationPolicy,
    RotationReason,
    SilenceMeter,
    StreamAge,
    rotation_due,
)

# --- Transcribe requests --------------------------------------------------------------------


def test_options_validation():
    TranscribeOptions(languages=("en-US", "it-IT"), preferred_language="it-IT")
    for bad in (
        {"languages": ("en",)},
        {"languages": ("en-US", "en-US")},
        {"languages": ("en-US",), "preferred_language": "it-IT"},
        {"languages": ("en-US",), "vocabulary_names": ("a", "b")},
        {"stability": "extreme"},
        {"vocabulary_filter_method": "blur"},
        {"rotate_after_s": 4 * 3600},
        {"rotate_after_s": 0},
        {"body_wait_s": 0.5},
    ):
        with pytest.raises(ValueError, match=r"\w"):
            TranscribeOptions(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("languages", "opened", "plan"),
    [
        ((), "en-GB", StreamPlan("en-GB")),
        (("it-IT",), "it-IT", StreamPlan("it-IT")),
        (("it-IT",), "auto", StreamPlan("it-IT")),
        (("en-US", "it-IT"), "auto", StreamPlan(None, ("en-US", "it-IT"))),
        (("en-US", "it-IT"), "en-US", StreamPlan(None, ("en-US", "it-IT"))),
    ],
)
def test_stream_plans(languages, opened, plan):
    assert plan_stream(TranscribeOptions(languages=languages), opened) == plan


@pytest.mark.parametrize(
    ("languages", "opened"),
    [((), "auto"), ((), "english"), (("it-IT",), "en-US"), (("en-US", "it-IT"), "de-DE")],
)
def test_stream_plans_refused(languages, opened):
    with pytest.raises(UnsupportedLanguage):
        plan_stream(TranscribeOptions(languages=languages), opened)


def test_supported_languages():
    assert supported_languages(TranscribeOptions()) is None
    both = supported_languages(TranscribeOptions(languages=("en-US", "it-IT")))
    assert both == {"en-US", "it-IT", "auto"}


def test_request_arguments_fixed_language():
    options = TranscribeOptions(
        stability="medium",
        vocabulary_names=("talks",),
        vocabulary_filter_names=("rude",),
        vocabulary_filter_method="tag",
    )
    assert request_arguments(options, StreamPlan("en-US")) == {
        "media_sample_rate_hz": 16000,
        "media_encoding": "pcm",
        "language_code": "en-US",
        "enable_partial_results_stabilization": True,
        "partial_results_stability": "medium",
        "vocabulary_name": "talks",
        "vocab_filter_name": "rude",
        "vocab_filter_method": "tag",
    }


def test_request_arguments_identification():
    options = TranscribeOptions(
        languages=("en-US", "it-IT"),
        preferred_language="it-IT",
        partial_stabilization=False,
        vocabulary_names=("talks-en", "talks-it"),
    )
    plan = plan_stream(options, "auto")
    assert request_arguments(options, plan) == {
        "media_sample_rate_hz": 16000,
        "media_encoding": "pcm",
        "language_code": None,
        "identify_language": True,
        "language_options": ["en-US", "it-IT"],
        "preferred_language": "it-IT",
        "vocabulary_names": ["talks-en", "talks-it"],
    }


# --- results to hypotheses ------------------------------------------------------------------


def _item(content, start, end, stable=None, kind="pronunciation"):
    return Item(start_time=start, end_time=end, item_type=kind, content=content, stable=stable)


def test_words_join_punctuation_and_carry_stability():
    items = [
        _item("Hello", 0.1, 0.4, True),
        _item(",", 0.4, 0.4, True, "punctuation"),
        _item("world", 0.5, 0.9, False),
        _item(".", 0.9, 0.9, False, "punctuation"),
    ]
    assert words_of(items, 10.0, is_final=False) == (
        Word("Hello,", 10.1, 10.4, True),
        Word("world.", 10.5, 10.9, False),
    )
    assert all(w.stable for w in words_of(items, 0.0, is_final=True))


def test_words_without_stabilization_are_unstable_in_partials():
    items = [_item("hi", 0.0, 0.2)]
    assert words_of(items, 0.0, is_final=False) == (Word("hi", 0.0, 0.2, False),)


def _result(text, partial, start, end, items, language=None):
    return Result(
        result_id="r",
        start_time=start,
        end_time=end,
        is_partial=partial,
        alternatives=[Alternative(text, items, None)],
        language_code=language,
    )


def test_results_convert_with_offset_and_identified_language():
    converter = ResultConverter(offset_s=100.0, fallback_language="en-US")
    first = converter.convert(_result("ciao", True, 1.0, 1.3, [_item("ciao", 1.0, 1.3, False)]))
    assert first is not None
    assert (first.text, first.is_final, first.start, first.end) == ("ciao", False, 101.0, 101.3)
    assert first.language == "en-US"  # before identification: the fallback
    second = converter.convert(
        _result("ciao a tutti", False, 1.0, 2.0, [_item("ciao", 1.0, 1.3)], language="it-IT")
    )
    assert second is not None
    assert second.is_final
    assert second.language == "it-IT"
    third = converter.convert(_result("grazie", True, 3.0, 3.2, []))
    assert third is not None
    assert third.language == "it-IT"
    empty = Result(result_id="x", start_time=0.0, end_time=0.0, is_partial=True, alternatives=[])
    assert converter.convert(empty) is None


# --- rotation -------------------------------------------------------------------------------

POLICY = RotationPolicy(rotate_after_s=100.0, max_wait_s=10.0, pause_silence_s=0.3)


@pytest.mark.parametrize(
    ("wall", "audio", "last_final", "silence", "expected"),
    [
        (50.0, 50.0, True, 5.0, None),
        (100.0, 99.0, None, 0.0, None),
        (100.0, 99.0, True, 0.0, RotationReason.AFTER_FINAL),
        (100.0, 99.0, False, 0.3, RotationReason.SILENCE),
        (100.0, 99.0, False, 0.2, None),
        (50.0, 100.5, True, 0.0, RotationReason.AFTER_FINAL),
        (109.9, 100.0, False, 0.0, None),
        (110.0, 100.0, False, 0.0, RotationReason.FORCED),
    ],
)
def test_rotation_decisions(wall, audio, last_final, silence, expected):
    age = StreamAge(
        wall_s=wall, audio_s=audio, last_result_final=last_final, trailing_silence_s=silence
    )
    assert rotation_due(POLICY, age) is expected


def test_silence_meter():
    meter = SilenceMeter(silence_dbfs=-45.0)
    quiet = struct.pack("<h", 100) * 1600
    loud = struct.pack("<h", -2000) * 1600
    assert meter.update(quiet) == pytest.approx(0.1)
    assert meter.update(quiet) == pytest.approx(0.2)
    assert meter.update(loud) == 0.0
    assert meter.update(b"\0\0" * 800) == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("last_final", "silence", "expected"),
    [
        (None, 0.0, None),
        (False, 0.1, None),
        (True, 0.0, RotationReason.VOCABULARY),
        (False, 0.3, RotationReason.VOCABULARY),
    ],
)
def test_a_new_vocabulary_rotates_a_young_stream_at_the_next_pause(last_final, silence, expected):
    age = StreamAge(
        wall_s=5.0,
        audio_s=5.0,
        last_result_final=last_final,
        trailing_silence_s=silence,
        vocabulary_changed=True,
    )
    assert rotation_due(POLICY, age) is expected


def test_glossary_vocabularies_replace_the_configured_ones_in_the_request():
    options = TranscribeOptions(languages=("en-US", "it-IT"))
    plan = plan_stream(options, "auto")
    args = request_arguments(options, plan, ("edge-main-en-US-abc",))
    assert args["vocabulary_names"] == ["edge-main-en-US-abc"]
    fixed = request_arguments(TranscribeOptions(), StreamPlan("en-US"), ("edge-main-en-US-abc",))
    assert fixed["vocabulary_name"] == "edge-main-en-US-abc"
    assert "vocabulary_name" not in request_arguments(TranscribeOptions(), StreamPlan("en-US"), ())

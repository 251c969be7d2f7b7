"""The fallback recognizer moves a stream between engines without losing or repeating words."""

from __future__ import annotations

import asyncio

import pytest

from edge_server.contract.backoff import BackoffPolicy
from edge_server.core.engine_api import Hypothesis
from edge_server.engines.fallback.policy import FallbackPolicy
from edge_server.engines.fallback.recognizer import FallbackRecognizer
from tests.helpers.scripted_engine import ScriptedError, ScriptedRecognizer, word_audio

FAST = FallbackPolicy(
    grace_s=0.3,
    retry=BackoffPolicy(0.05, 2.0, 0.1, jitter=0.0),
    probe=BackoffPolicy(0.1, 1.0, 0.1, jitter=0.0),
)


def talk(sentences: int, words: int = 4) -> list[int]:
    """Word numbers with a pause (0) after each sentence."""
    out: list[int] = []
    for s in range(sentences):
        out += [s * words + i + 1 for i in range(words)] + [0]
    return out


async def run(
    recognizer: FallbackRecognizer,
    script: list[int],
    during: dict[int, object] | None = None,
    pace: float = 0.01,
) -> list[Hypothesis]:
    """Stream the script; ``during[i]`` is called before chunk ``i``. Returns the finals."""
    stream = await recognizer.open_stream("en-US")
    finals: list[Hypothesis] = []

    async def collect() -> None:
        async for hyp in stream.results():
            if hyp.is_final:
                finals.append(hyp)

    collector = asyncio.create_task(collect())
    for i, n in enumerate(script):
        action = (during or {}).get(i)
        if callable(action):
            action()
        await stream.send_audio(word_audio(n))
        await asyncio.sleep(pace)
    await stream.finish()
    await asyncio.wait_for(collector, 10)
    return finals


def words_of(finals: list[Hypothesis]) -> list[int]:
    return [int(w[1:]) for f in finals for w in f.text.split()]


def expected(script: list[int]) -> list[int]:
    return [n for n in script if n]


async def test_healthy_primary_does_everything() -> None:
    primary, fallback = ScriptedRecognizer("cloud"), ScriptedRecognizer("embedded")
    rec = FallbackRecognizer(primary, fallback, FAST, label="t")
    script = talk(3)
    finals = await run(rec, script)
    assert words_of(finals) == expected(script)
    assert fallback.streams_opened == 0
    assert rec.name == "cloud"
    assert not rec.offline
    # times are continuous and increasing
    assert [f.start for f in finals] == sorted(f.start for f in finals)
    assert finals[1].start >= finals[0].end


async def test_short_outage_is_retried_within_grace_without_loss() -> None:
    primary, fallback = ScriptedRecognizer("cloud"), ScriptedRecognizer("embedded")
    rec = FallbackRecognizer(primary, fallback, FAST, label="t")
    primary.fail_after_chunks = 6  # mid-sentence
    script = talk(4)
    finals = await run(rec, script)
    assert words_of(finals) == expected(script)
    assert primary.streams_opened == 2
    assert fallback.streams_opened == 0
    assert list(rec.switches) == []


async def test_long_outage_falls_back_then_returns_at_a_pause() -> None:
    primary, fallback = ScriptedRecognizer("cloud"), ScriptedRecognizer("embedded")
    rec = FallbackRecognizer(primary, fallback, FAST, label="t")
    seen_offline: list[bool] = []
    outage = ScriptedError("connection refused")

    def cut() -> None:
        primary.fail_after_chunks = primary.chunks_total  # the next chunk breaks the stream
        primary.down = outage

    def heal() -> None:
        seen_offline.append(rec.offline)
        primary.down = None

    script = talk(12)
    finals = await run(rec, script, during={7: cut, 40: heal}, pace=0.02)
    assert words_of(finals) == expected(script), "no word lost or repeated"
    assert seen_offline == [True]
    assert [s["to"] for s in rec.switches] == ["embedded", "cloud"]
    assert "connection refused" in rec.switches[0]["reason"]
    assert not rec.offline
    assert fallback.streams_opened >= 1
    engines_text = [f.text for f in finals]
    assert len(engines_text) == 12


async def test_credentials_error_switches_at_once() -> None:
    primary, fallback = ScriptedRecognizer("cloud"), ScriptedRecognizer("embedded")
    primary.down = ScriptedError("credentials expired", retryable=False)
    rec = FallbackRecognizer(primary, fallback, FAST, label="t")
    script = talk(2)
    finals = await run(rec, script)
    assert words_of(finals) == expected(script)
    assert rec.offline
    assert rec.name == "embedded"
    assert primary.streams_opened == 0


async def test_without_fallback_audio_waits_for_the_cloud() -> None:
    primary = ScriptedRecognizer("cloud")
    rec = FallbackRecognizer(primary, None, FAST, label="t")

    def cut() -> None:
        primary.fail_after_chunks = primary.chunks_total
        primary.down = ScriptedError("unavailable")

    def heal() -> None:
        primary.down = None

    script = talk(4)
    finals = await run(rec, script, during={3: cut, 12: heal}, pace=0.03)
    assert words_of(finals) == expected(script)
    assert not rec.offline


async def test_finish_during_an_outage_finalizes_on_the_fallback() -> None:
    primary, fallback = ScriptedRecognizer("cloud"), ScriptedRecognizer("embedded")
    policy = FallbackPolicy(grace_s=30.0, retry=BackoffPolicy(5.0, 1.0, 5.0, jitter=0.0))
    rec = FallbackRecognizer(primary, fallback, policy, label="t")

    def cut() -> None:
        primary.fail_after_chunks = primary.chunks_total
        primary.down = ScriptedError("unavailable")

    script = [1, 2, 3, 0, 4, 5, 6]  # the talk ends mid-sentence, during the outage
    finals = await run(rec, script, during={4: cut})
    assert words_of(finals) == expected(script)


@pytest.mark.parametrize("fail_at", [0, 1, 4, 5, 9])
async def test_failure_at_any_point_loses_nothing(fail_at: int) -> None:
    primary, fallback = ScriptedRecognizer("cloud"), ScriptedRecognizer("embedded")
    rec = FallbackRecognizer(primary, fallback, FAST, label="t")
    primary.fail_after_chunks = fail_at
    primary.down = None
    script = talk(3)
    finals = await run(rec, script)
    assert words_of(finals) == expected(script)


async def test_a_language_the_fallback_cannot_hear_keeps_retrying_the_cloud() -> None:
    primary, fallback = ScriptedRecognizer("cloud"), ScriptedRecognizer("embedded")
    fallback.supported_languages = lambda: frozenset({"en-US"})  # type: ignore[method-assign]
    rec = FallbackRecognizer(primary, fallback, FAST, label="t")
    stream = await rec.open_stream("it-IT")
    primary.fail_after_chunks = primary.chunks_total
    primary.down = ScriptedError("unavailable")
    finals: list[Hypothesis] = []

    async def collect() -> None:
        async for hyp in stream.results():
            if hyp.is_final:
                finals.append(hyp)

    collector = asyncio.create_task(collect())
    script = talk(3)
    for i, n in enumerate(script):
        if i == 8:
            assert not rec.offline  # grace long over, but no fallback for Italian
            primary.down = None
        await stream.send_audio(word_audio(n))
        await asyncio.sleep(0.05)
    await stream.finish()
    await asyncio.wait_for(collector, 10)
    assert words_of(finals) == expected(script)
    assert fallback.streams_opened == 0

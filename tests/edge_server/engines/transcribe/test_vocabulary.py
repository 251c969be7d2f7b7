"""The room's custom vocabularies, built from its glossary: real boto3 against the local
Transcribe control-plane fake (reached through ``AWS_ENDPOINT_URL_TRANSCRIBE``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from edge_server.contract.backoff import BackoffPolicy
from edge_server.engines.transcribe.vocabulary import VocabularyKeeper, VocabularyOptions
from tests.fakes.aws_env import isolate_aws
from tests.fakes.transcribe_control_fake import FakeVocabulary, TranscribeControlFake
from tests.helpers.waiting import wait_until

pytestmark = pytest.mark.timeout(60)
FAST = VocabularyOptions(
    region="us-east-1", poll=BackoffPolicy(first_s=0.05, factor=1.0, max_s=0.05, jitter=0.0)
)
PHRASES = ["PipeWire", "Raspberry Pi", "C++", "FOSDEM"]


@pytest.fixture
async def control(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[TranscribeControlFake]:
    isolate_aws(monkeypatch, tmp_path)
    fake = await TranscribeControlFake(pending_polls=2).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_TRANSCRIBE", fake.url)
    yield fake
    await fake.close()


async def settled(keeper: VocabularyKeeper, language: str = "en-US") -> dict[str, object]:
    await wait_until(lambda: keeper.status()[language]["state"] != "pending", 20, "a vocabulary")
    return keeper.status()[language]


async def test_a_vocabulary_is_created_from_the_glossary_and_used_once_ready(control):
    keeper = VocabularyKeeper("main", FAST)
    readied: list[tuple[str, str]] = []
    keeper.on_ready = lambda language, name: readied.append((language, name))
    keeper.use(PHRASES, ["en-US"])
    assert keeper.status()["en-US"]["state"] == "pending"
    assert keeper.ready_name("en-US") is None  # streams open at once, without it
    status = await settled(keeper)
    name = status["name"]
    assert status["state"] == "ready"
    assert str(name).startswith("edge-main-en-US-")
    assert status["phrases"] == 3
    assert status["dropped"] == [
        {"phrase": "C++", "reason": "'+' is not in Transcribe's en-US character set"}
    ]
    assert keeper.ready_name("en-US") == name
    assert readied == [("en-US", name)]
    create = [body for op, body in control.calls if op == "CreateVocabulary"]
    assert create == [
        {"VocabularyName": name, "LanguageCode": "en-US",
         "Phrases": ["PipeWire", "Raspberry-Pi", "FOSDEM"]}
    ]  # fmt: skip
    assert control.operations()[:2] == ["GetVocabulary", "CreateVocabulary"]
    await keeper.close()

    # The next start with the same glossary finds it READY: nothing is uploaded.
    control.calls.clear()
    again = VocabularyKeeper("main", FAST)
    again.use(PHRASES, ["en-US"])
    assert (await settled(again))["state"] == "ready"
    assert "CreateVocabulary" not in control.operations()
    assert "UpdateVocabulary" not in control.operations()
    await again.close()


async def test_a_changed_glossary_makes_a_new_vocabulary_and_deletes_the_old(control):
    keeper = VocabularyKeeper("main", FAST)
    keeper.use(PHRASES, ["en-US"])
    first = (await settled(keeper))["name"]
    keeper.use([*PHRASES, "Dashwood"], ["en-US"])
    assert keeper.ready_name("en-US") == first  # the old one serves until the new is READY
    second = (await settled(keeper))["name"]
    assert second != first
    assert keeper.ready_name("en-US") == second
    await wait_until(lambda: first not in control.vocabularies, 10, "the old one deleted")
    assert list(control.vocabularies) == [second]
    await keeper.close()


async def test_a_vocabulary_the_service_fails_is_reported_with_its_reason(control, caplog):
    control.fail_reason = "Invalid phrase: PipeWire"
    keeper = VocabularyKeeper("main", FAST)
    with caplog.at_level(logging.ERROR):
        keeper.use(PHRASES, ["en-US"])
        status = await settled(keeper)
    assert status["state"] == "failed"
    assert "Invalid phrase: PipeWire" in str(status["reason"])
    assert keeper.ready_name("en-US") is None
    assert "streams run without it" in caplog.text
    await keeper.close()

    # Next start: the FAILED vocabulary is submitted again with UpdateVocabulary.
    control.fail_reason = None
    control.vocabularies[str(status["name"])].outcome = ("READY", None)
    control.calls.clear()
    again = VocabularyKeeper("main", FAST)
    again.use(PHRASES, ["en-US"])
    assert (await settled(again))["state"] == "ready"
    assert control.operations()[:2] == ["GetVocabulary", "UpdateVocabulary"]
    await again.close()


async def test_a_refused_call_is_a_failure_in_words_and_nothing_else(control, caplog):
    control.refuse = (400, "AccessDeniedException", "not allowed: transcribe:GetVocabulary")
    keeper = VocabularyKeeper("main", FAST)
    with caplog.at_level(logging.ERROR):
        keeper.use(PHRASES, ["en-US"])
        status = await settled(keeper)
    assert status["state"] == "failed"
    assert "AccessDeniedException" in str(status["reason"])
    assert "IAM policy" in str(status["reason"])
    assert keeper.ready_name("en-US") is None
    await keeper.close()


async def test_a_glossary_with_nothing_usable_uploads_nothing(control):
    keeper = VocabularyKeeper("main", FAST)
    keeper.use(["C++", "F#"], ["en-US"])
    assert keeper.status()["en-US"]["state"] == "empty"
    keeper.want("it-IT")
    assert keeper.status()["it-IT"]["state"] == "empty"
    await asyncio.sleep(0.1)
    assert control.calls == []
    await keeper.close()


async def test_only_the_rooms_own_older_vocabularies_are_deleted(control):
    keeper = VocabularyKeeper("main", FAST)
    keeper.use(PHRASES, ["en-US"])
    await settled(keeper)
    for other in ("edge-main-en-US-en-US-0123456789ab", "edge-main-en-US-mine", "conf-names"):
        control.vocabularies[other] = FakeVocabulary(other, "en-US", ["X"], state="READY")
    keeper.use([*PHRASES, "Dashwood"], ["en-US"])
    newest = (await settled(keeper))["name"]
    await wait_until(lambda: len(control.vocabularies) == 4, 10, "the room's old one deleted")
    assert sorted(control.vocabularies) == sorted(
        ["conf-names", "edge-main-en-US-en-US-0123456789ab", "edge-main-en-US-mine", newest]
    )
    await keeper.close()


async def test_a_service_out_of_reach_is_tried_again_by_itself(control):
    control.refuse = (503, "ServiceUnavailableException", "down for a moment")
    keeper = VocabularyKeeper("main", replace(FAST, retry_s=0.2))
    keeper.use(PHRASES, ["en-US"])
    status = await settled(keeper)
    assert status["state"] == "failed"
    assert "ServiceUnavailableException" in str(status["reason"])
    control.refuse = None
    await wait_until(lambda: keeper.ready_name("en-US") is not None, 20, "the retry")
    assert keeper.status()["en-US"]["state"] == "ready"
    await keeper.close()


async def test_a_vocabulary_the_service_refuses_is_not_tried_again(control):
    control.fail_reason = "Invalid phrase"
    keeper = VocabularyKeeper("main", replace(FAST, retry_s=0.05))
    keeper.use(PHRASES, ["en-US"])
    await settled(keeper)
    calls = len(control.calls)
    await asyncio.sleep(0.5)
    keeper.want("en-US")  # a new stream: still no point in asking again
    assert len(control.calls) == calls
    assert keeper.status()["en-US"]["state"] == "failed"
    await keeper.close()

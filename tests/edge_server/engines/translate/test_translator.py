"""The Translate adapter driving real boto3 against a local TranslateText endpoint."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge_server.core.glossary import Glossary
from edge_server.engines.aws.errors import EndpointError
from edge_server.engines.translate.translator import (
    TranslateOptions,
    TranslateTranslator,
    translate_code,
)
from tests.fakes.aws_env import ACCESS_KEY, isolate_aws
from tests.fakes.tls import make_ca
from tests.fakes.translate_fake import TARGET, FakeTerminology, TranslateFake
from tests.helpers.waiting import wait_until

T = 10.0


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[TranslateFake]:
    isolate_aws(monkeypatch, tmp_path)
    server = await TranslateFake().start()
    yield server
    await server.close()


def translator(fake: TranslateFake, **options: object) -> TranslateTranslator:
    defaults: dict[str, object] = {"region": "us-east-1", "endpoint_url": fake.url}
    return TranslateTranslator(TranslateOptions(**(defaults | options)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("en-US", "en"),
        ("it", "it"),
        ("de-DE", "de"),
        ("fr-CA", "fr-CA"),
        ("pt-PT", "pt-PT"),
        ("pt-BR", "pt"),
        ("zh-TW", "zh-TW"),
        ("zh-CN", "zh"),
        ("es_MX", "es-MX"),
    ],
)
def test_language_codes(code, expected):
    assert translate_code(code) == expected


async def test_one_call_per_target_all_at_once(fake: TranslateFake):
    fake.delays = {"it": 0.4, "de": 0.4, "fr": 0.4}
    fake.terminologies["speakers"] = FakeTerminology(
        "speakers", "", "MULTI", ["en", "it", "de", "fr"], [], "en,it,de,fr\n"
    )
    engine = translator(fake, terminology_names=("speakers",))
    started = time.monotonic()
    result = await asyncio.wait_for(
        engine.translate("Good morning everyone", "en-US", ["it", "de-DE", "fr"]), T
    )
    elapsed = time.monotonic() - started
    await engine.close()

    assert result == {
        "it": "[it] Good morning everyone",
        "de-DE": "[de] Good morning everyone",
        "fr": "[fr] Good morning everyone",
    }
    assert elapsed < 1.0  # concurrent: one delay, not three
    assert len(fake.calls) == 3
    for call in fake.calls:
        assert call.target_header == TARGET
        assert call.access_key == ACCESS_KEY
        assert call.body["SourceLanguageCode"] == "en"
        assert call.body["TerminologyNames"] == ["speakers"]
    starts = sorted(call.started for call in fake.calls)
    assert starts[-1] - starts[0] < 0.3
    assert engine.characters == 3 * len("Good morning everyone")


async def test_a_failing_target_is_left_out_and_logged_with_its_class(fake, caplog):
    fake.failures = {
        "ja": (400, "UnsupportedLanguagePairException", "no en-ja here"),
        "ko": (400, "ThrottlingException", "slow down"),
    }
    engine = translator(fake)
    with caplog.at_level(logging.WARNING):
        result = await asyncio.wait_for(engine.translate("Hello", "en", ["it", "ja", "ko"]), T)
    await engine.close()
    assert result == {"it": "[it] Hello"}
    assert "translation into ja failed: BadRequestError" in caplog.text
    assert "no en-ja here" in caplog.text
    assert "translation into ko failed: ThrottlingError" in caplog.text
    assert engine.failures == 2


async def test_a_slow_target_times_out_without_delaying_the_others(fake, caplog):
    fake.delays = {"fr": 3.0}
    engine = translator(fake, timeout_s=0.5)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        result = await asyncio.wait_for(engine.translate("Hello", "en", ["it", "fr", "de"]), T)
    elapsed = time.monotonic() - started
    await engine.close()
    assert result == {"it": "[it] Hello", "de": "[de] Hello"}
    assert elapsed < 1.5
    assert "translation into fr failed: ServiceUnavailableError" in caplog.text


async def test_nothing_to_translate_makes_no_call(fake: TranslateFake):
    engine = translator(fake)
    assert await asyncio.wait_for(engine.translate("Hello", "en-US", ["en", "en-GB"]), T) == {}
    assert await asyncio.wait_for(engine.translate("   ", "en-US", ["it"]), T) == {}
    assert fake.calls == []
    await engine.close()


async def test_the_standard_endpoint_variable_is_honoured(fake, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_TRANSLATE", fake.url)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    engine = TranslateTranslator(TranslateOptions())
    assert await asyncio.wait_for(engine.translate("Hi", "en", ["it"]), T) == {"it": "[it] Hi"}
    assert "/eu-west-1/translate/" in fake.calls[0].authorization
    await engine.close()


async def test_aws_ca_bundle_is_honoured_over_tls(monkeypatch, tmp_path, caplog):
    isolate_aws(monkeypatch, tmp_path)
    ca = make_ca(tmp_path)
    server = await TranslateFake(ssl_context=ca.server_context()).start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_TRANSLATE", server.url)
        untrusted = TranslateTranslator(TranslateOptions(region="us-east-1", timeout_s=2.0))
        with caplog.at_level(logging.WARNING):
            assert await asyncio.wait_for(untrusted.translate("Hi", "en", ["it"]), T) == {}
        assert "EndpointError" in caplog.text  # the system CAs do not trust the test CA
        await untrusted.close()
        monkeypatch.setenv("AWS_CA_BUNDLE", str(ca.ca_file))
        trusted = TranslateTranslator(TranslateOptions(region="us-east-1"))
        result = await asyncio.wait_for(trusted.translate("Hi", "en", ["it"]), T)
        assert result == {"it": "[it] Hi"}
        await trusted.close()
    finally:
        await server.close()


async def test_a_missing_region_is_reported_by_translate(monkeypatch, tmp_path):
    isolate_aws(monkeypatch, tmp_path)
    engine = TranslateTranslator(TranslateOptions())
    with pytest.raises(EndpointError, match="no AWS region"):
        await asyncio.wait_for(engine.translate("Hi", "en", ["it"]), T)
    await engine.close()
    elsewhere = TranslateTranslator(TranslateOptions(region="eu-south-1"))
    with pytest.raises(EndpointError, match="Amazon Translate is not available in region"):
        await asyncio.wait_for(elsewhere.translate("Hi", "en", ["it"]), T)
    await elsewhere.close()


async def test_the_glossary_terminology_is_imported_once_and_keeps_names(fake: TranslateFake):
    fake.words = {"it": {"Dashwood": "Lavalegno", "house": "casa"}}
    glossary = Glossary.of({}, ["Dashwood", "Norland Park"])
    engine = TranslateTranslator(
        TranslateOptions(region="us-east-1", endpoint_url=fake.url), room="hall_a"
    )
    engine.use_glossary(glossary, ["en-US", "it"])
    await wait_until(lambda: engine.terminology is not None and engine.terminology.available)
    result = await asyncio.wait_for(engine.translate("the Dashwood house", "en-US", ["it"]), T)
    assert result == {"it": "[it] the Dashwood casa"}
    assert fake.calls[-1].body["TerminologyNames"] == ["edge-hall-a"]
    imported = fake.terminologies["edge-hall-a"]
    assert imported.csv_text == "en,it\nDashwood,Dashwood\nNorland Park,Norland Park\n"
    assert imported.directionality == "MULTI"
    status = engine.glossary_status()
    assert status is not None
    assert (status["state"], status["terms"], status["languages"]) == ("ready", 2, ["en", "it"])
    await engine.close()

    # The next start with the same glossary finds it imported: only GetTerminology is called.
    again = TranslateTranslator(
        TranslateOptions(region="us-east-1", endpoint_url=fake.url), room="hall_a"
    )
    again.use_glossary(glossary, ["en-US", "it"])
    await wait_until(lambda: again.terminology is not None and again.terminology.available)
    operations = [op for op, _ in fake.terminology_calls]
    assert operations == ["GetTerminology", "ImportTerminology", "GetTerminology"]
    await again.close()


async def test_a_configured_terminology_wins_and_two_are_refused(fake: TranslateFake):
    engine = TranslateTranslator(
        TranslateOptions(region="us-east-1", endpoint_url=fake.url, terminology_names=("mine",)),
        room="main",
    )
    engine.use_glossary(Glossary.of({}, ["Dashwood"]), ["en", "it"])
    assert engine.terminology is None
    assert engine.glossary_status() == {"terminology": "configured", "names": ["mine"]}
    await engine.close()
    with pytest.raises(ValueError, match="one custom terminology per request"):
        TranslateOptions(terminology_names=("a", "b"))

"""The listener page says whose voice it plays: in real Chromium, against a room whose Polly
(real boto3, the local fake) goes down and comes back, with espeak-ng standing in; and the pure
parts (the message's voice, the state, the line shown) run in the page's own engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from websockets.asyncio.client import ClientConnection

from edge_server.core.settings import RoomSettings
from tests.fakes.aws_env import isolate_aws
from tests.fakes.polly_fake import PollyFake
from tests.helpers.live_server import LiveServer, LiveServers, make_settings, room_health
from tests.helpers.scripted_engine import PrefixTranslator, ScriptedRecognizer, word_audio
from tests.helpers.wire import open_audio

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]

UI_WAIT_MS = 30000  # a loaded 2-core machine; the way back to Polly waits for a probe
expect.set_options(timeout=UI_WAIT_MS)


@pytest.fixture
async def polly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[PollyFake]:
    isolate_aws(monkeypatch, tmp_path)
    fake = await PollyFake().start()
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_POLLY", fake.url)
    try:
        yield fake
    finally:
        await fake.close()


async def _say(audio: ClientConnection, *words: int) -> None:
    for n in (*words, 0):
        await asyncio.wait_for(audio.send(word_audio(n)), 20)


async def _listening_page(browser: Browser, live: LiveServer) -> tuple[Page, Any]:
    context = await browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    page = await context.new_page()
    await page.goto(f"{live.http}/listen/main?lang=it")
    await expect(page.locator('[data-part="app"]')).to_have_attribute("data-connection", "open")
    button = page.locator('[data-part="sound-button"]')
    await button.tap()
    await expect(button).to_have_text("Sound on")
    await page.wait_for_function(
        "window.listenerAudio.events.some(e => e.kind === 'listening' && e.audio)",
        timeout=UI_WAIT_MS,
    )
    return page, context


async def test_the_page_names_the_voice_through_an_outage(
    browser: Browser, live_server: LiveServers, polly: PollyFake
) -> None:
    room = RoomSettings(
        targets=("it",),
        translator="amazon-translate",
        synthesizer="polly",
        voice_fallback_grace_s=1.0,
    )
    live = await live_server(
        make_settings(live_server.state_dir, default_room=room, max_frame_bytes=16000),
        recognizer_factory=lambda name, r, s: ScriptedRecognizer("scripted"),
        translator_factory=lambda name, r, s: PrefixTranslator(),
    )
    page, context = await _listening_page(browser, live)
    voice = page.locator('[data-part="voice"]')
    await expect(voice).to_be_hidden()  # nothing spoken yet
    audio, ready = await open_audio(live.ws, "main")
    assert ready["type"] == "ready"

    await _say(audio, 1, 2)
    await expect(page.locator(".final.latest .text")).to_have_text("it w1 w2")
    await expect(voice).to_have_text("Voice: Amazon Polly (Bianca)")

    polly.fail()
    await _say(audio, 3)
    await expect(page.locator(".final.latest .text")).to_have_text("it w3")
    await expect(voice).to_have_text("Voice: local (espeak) — Polly unavailable")

    polly.recover()
    async with asyncio.timeout(60):
        while (await room_health(live))["voice_offline"]:  # noqa: ASYNC110 - polling /healthz
            await asyncio.sleep(0.2)
    await _say(audio, 4)
    await expect(page.locator(".final.latest .text")).to_have_text("it w4")
    await expect(voice).to_have_text("Voice: Amazon Polly (Bianca)")
    events = await page.evaluate(
        "window.listenerAudio.events.filter(e => e.kind === 'speech_end').map(e => e.segment)"
    )
    assert len(events) == len(set(events)) == 3  # each sentence spoken once
    await audio.close()
    await context.close()


PURE_SCRIPT = """async () => {
    const m = await import('/static/listener-model.js');
    const v = await import('/static/listener-view-model.js');
    const p = await import('/static/protocol.js');
    const out = {};
    out.parsed = [
        {voice: {engine: 'espeak', name: 'it', standing_in_for: 'amazon-polly'}},
        {voice: {engine: 'amazon-polly', name: 'Bianca', standing_in_for: null}},
        {voice: {engine: '', name: 'x'}}, {voice: 'espeak'}, {}, null,
    ].map(p.voiceFromMessage);
    const polly = {engine: 'amazon-polly', name: 'Bianca', standing_in_for: null};
    const local = {engine: 'espeak', name: 'it', standing_in_for: 'amazon-polly'};
    const none = {engine: 'espeak', name: '', standing_in_for: 'amazon-polly'};
    const speech = (segment, lang, voice) => ({type: 'speech', segment, lang, voice});
    const end = (segment, lang, voice, ok) => ({type: 'speech_end', segment, lang, voice, ok});
    let st = m.withLanguage(m.withConnection(m.initialState('main'), 'open'), 'it');
    st = m.reduce(st, {type: 'status', languages: ['en-US', 'it', 'de'], speech: true,
                       synthesizer: 'amazon-polly'});
    const on = {enabled: true, muted: false, supported: true};
    const shown = (state, sound = on) => v.viewModel(state, sound).voice;
    const steps = [];
    for (const msg of [speech(1, 'it', polly), end(1, 'it', polly, true),
                       speech(2, 'it', local), speech(3, 'de', polly), end(2, 'it', local, true),
                       speech(4, 'it', none), end(4, 'it', none, false),
                       speech(5, 'it', polly), end(5, 'it', polly, false)]) {
        const next = m.reduce(st, msg);
        steps.push([shown(next), next === st]);
        st = next;
    }
    out.steps = steps;
    out.notEnabled = shown(st, {enabled: false, muted: false, supported: true});
    out.otherLanguage = shown(m.withLanguage(st, 'de'));
    out.oldServer = m.reduce(st, {type: 'speech', segment: 6, lang: 'it'}) === st;
    out.texts = [
        v.voiceText(null),
        v.voiceText({engine: 'espeak', name: 'it', standingInFor: null, silent: false}),
        v.voiceText({engine: 'azure', name: 'Elsa', standingInFor: 'other', silent: false}),
        v.voiceText({engine: 'espeak', name: '', standingInFor: 'other', silent: true}),
    ];
    return out;
}"""


async def test_pure_voice_parts(server: LiveServer, browser: Browser) -> None:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(f"{server.http}/static/listen.css")  # same origin, no page wiring
        out = await page.evaluate(PURE_SCRIPT)
    finally:
        await context.close()
    assert out["parsed"] == [
        {"engine": "espeak", "name": "it", "standingInFor": "amazon-polly"},
        {"engine": "amazon-polly", "name": "Bianca", "standingInFor": None},
        None,
        None,
        None,
        None,
    ]
    polly, local = "Voice: Amazon Polly (Bianca)", "Voice: local (espeak) — Polly unavailable"
    assert out["steps"] == [
        [polly, False],
        [polly, True],  # the same voice: the state is unchanged
        [local, False],
        [local, True],  # another language's speech does not change this one's voice
        [local, True],
        ["Voice: local (espeak) — Polly unavailable", False],  # the header of a silent one...
        ["No voice for this language now: Polly unavailable", False],  # ...its failed end
        [polly, False],
        [polly, True],  # Polly cut a sentence short: still Polly, not "no voice"
    ]
    assert out["notEnabled"] == ""  # shown with sound only
    assert out["otherLanguage"] == ""  # a new language: unknown until its first sentence
    assert out["oldServer"] is True  # a speech message without a voice changes nothing
    assert out["texts"] == [
        "",
        "Voice: local (espeak)",  # espeak as the room's own voice
        "Voice: azure (Elsa) — other unavailable",
        "No voice for this language now: other unavailable",
    ]

"""The phone listener page (``/listen/{room}``) in real Chromium at 390x844, fed by the real
server with deterministic engines: the scripted recognizer, a translator that prefixes the
target language, and a synthesizer that speaks every sentence as three known PCM chunks.

Set ``LISTENER_SHOTS=/some/dir`` to keep the screenshots the layout test takes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import struct
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from websockets.asyncio.client import ClientConnection

from edge_server.core.engine_api import SPEAKING, SpeakingVoice, SynthesizerHealth
from edge_server.core.settings import RoomSettings, ServerSettings
from tests.helpers.live_server import LiveServer, LiveServers, make_settings
from tests.helpers.scripted_engine import ScriptedRecognizer, word_audio
from tests.helpers.wire import open_audio, recv_json

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

UI_WAIT_MS = 15000  # milliseconds: bound on every Playwright wait (a loaded 2-core machine)
WAIT = 20.0  # seconds: bound on every wait on the server
LISTENER_TOKEN = "L" * 20
ADMIN_TOKEN = "A" * 20
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
    "color_scheme": "dark",  # the page's default theme follows the phone's
}
CHUNK_SAMPLES = (4000, 2400, 1600)  # each sentence: 0.25 s + 0.15 s + 0.1 s of speech
FRAME_BYTES = 6400  # the server's default max_frame_bytes

expect.set_options(timeout=UI_WAIT_MS)


UNTRANSLATED_WORD = "w66"  # a sentence with it only gets an Italian translation


class PrefixTranslator:
    """Translates ``text`` into ``"{target}: {text}"``, at once; a sentence containing
    :data:`UNTRANSLATED_WORD` only into Italian (as when the German translation failed)."""

    name = "prefix"

    async def translate(self, text: str, source: str, targets: Sequence[str]) -> Mapping[str, str]:
        if UNTRANSLATED_WORD in text.split():
            targets = [t for t in targets if t == "it"]
        return {target: f"{target}: {text}" for target in targets}


class ChunkSynthesizer:
    """Speaks every sentence as three chunks of constant samples (1000, 2000, 3000)."""

    name = "chunks"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]:
        self.calls.append((text, language))
        for index, count in enumerate(CHUNK_SAMPLES):
            yield struct.pack("<h", 1000 * (index + 1)) * count
            await asyncio.sleep(0)

    async def close(self) -> None:
        pass

    def voice(self, language: str) -> SpeakingVoice:
        return SpeakingVoice(self.name, "constant")

    def health(self) -> SynthesizerHealth:
        return SPEAKING


def translating_settings(tmp_path: Path, speech: bool, **kwargs: Any) -> ServerSettings:
    """A server whose rooms translate en-US into it and de, with a listener token."""
    room = RoomSettings(
        targets=("it", "de"),
        translator="amazon-translate",
        synthesizer="espeak" if speech else "none",
    )
    kwargs.setdefault("listener_token", LISTENER_TOKEN)
    kwargs.setdefault("admin_token", ADMIN_TOKEN)  # an open admin role would open reading too
    return make_settings(tmp_path / "state", default_room=room, connect_burst=100000, **kwargs)


async def start_server(
    live_server: LiveServers, tmp_path: Path, synthesizer: ChunkSynthesizer | None, **kwargs: Any
) -> LiveServer:
    """A live server with the scripted recognizer, the prefix translator and ``synthesizer``."""
    return await live_server(
        translating_settings(tmp_path, synthesizer is not None, **kwargs),
        recognizer_factory=lambda name, room, server: ScriptedRecognizer("scripted"),
        synthesizer_factory=(lambda name, room, server: synthesizer) if synthesizer else None,
        translator_factory=lambda name, room, server: PrefixTranslator(),
    )


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A 390x844 touch phone."""
    context = await browser.new_context(**PHONE)
    yield context
    await context.close()


async def open_listener(context: BrowserContext, server: LiveServer, room: str = "main") -> Page:
    """Load the listener page and wait until its socket is open."""
    page = await context.new_page()
    page.set_default_timeout(UI_WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(f"{server.http}/listen/{room}?token={LISTENER_TOKEN}")
    await expect(page.locator('[data-part="app"]')).to_have_attribute("data-connection", "open")
    return page


async def send_pcm(ws: ClientConnection, pcm: bytes) -> None:
    """Send audio in frames the server accepts."""
    for at in range(0, len(pcm), FRAME_BYTES):
        await asyncio.wait_for(ws.send(pcm[at : at + FRAME_BYTES]), WAIT)


async def say(ws: ClientConnection, *words: int) -> None:
    """Speak words then a pause (the scripted recognizer finalizes ``"w1 w2"``)."""
    await send_pcm(ws, b"".join(word_audio(n) for n in (*words, 0)))


async def audio_state(page: Page) -> dict[str, Any]:
    """The page's audio log and arrival events."""
    state = await page.evaluate(
        "JSON.stringify({log: window.listenerAudio.log, events: window.listenerAudio.events})"
    )
    result = json.loads(state)
    assert isinstance(result, dict)
    return result


async def wait_audio(page: Page, condition: str) -> None:
    """Wait for a condition on ``log`` and ``events`` (a JS expression)."""
    await page.wait_for_function(
        f"(() => {{ const log = window.listenerAudio.log; "
        f"const events = window.listenerAudio.events; return {condition}; }})()",
        timeout=UI_WAIT_MS,
    )


def check_schedule(log: list[dict[str, Any]]) -> None:
    """Buffers in order (segment, then index 0, 1, 2), and contiguous within a sentence;
    a sentence starts no earlier than the previous one ends."""
    keys = [(e["segment"], e["index"]) for e in log]
    assert keys == sorted(keys)
    for previous, entry in itertools.pairwise(log):
        end = previous["startAt"] + previous["duration"]
        if entry["segment"] == previous["segment"]:
            assert entry["index"] == previous["index"] + 1
            assert abs(entry["startAt"] - end) < 0.001, (previous, entry)
        else:
            assert entry["index"] == 0
            assert entry["startAt"] >= end - 0.001, (previous, entry)
    for entry in log:
        assert entry["samples"] == CHUNK_SAMPLES[entry["index"]]
        assert entry["duration"] == pytest.approx(CHUNK_SAMPLES[entry["index"]] / 16000)
        assert entry["repack"] is False


def text_before_audio(events: list[dict[str, Any]], segment: int) -> bool:
    """True when the segment's text arrived before its first speech message and audio."""
    kinds = [(e["kind"], e.get("segment")) for e in events]
    text = kinds.index(("text", segment))
    speech = kinds.index(("speech", segment))
    audio = kinds.index(("audio", segment))
    return text < speech < audio


# ------------------------------------------------------------------------------------------
# The whole path: words -> final -> translation -> text and speech on the phone


async def test_text_and_speech_in_the_chosen_language(
    tmp_path: Path, phone: BrowserContext, live_server: LiveServers
) -> None:
    synth = ChunkSynthesizer()
    server = await start_server(live_server, tmp_path, synth)
    page = await open_listener(phone, server)
    langs = page.locator(".lang")
    await expect(langs).to_have_count(3)
    assert await langs.evaluate_all("ns => ns.map(n => n.dataset.code)") == [
        "en-US",
        "it",
        "de",
    ]
    await page.locator('.lang[data-code="it"]').tap()
    await expect(page.locator('.lang[data-code="it"]')).to_have_attribute("aria-checked", "true")
    button = page.locator('[data-part="sound-button"]')
    await expect(button).to_have_text("Tap to enable sound")
    await button.tap()
    await expect(button).to_have_text("Sound on")
    await expect(button).to_have_attribute("aria-pressed", "true")
    # The server confirmed: Italian, with sound.
    await wait_audio(page, "events.some(e => e.kind === 'listening' && e.lang === 'it' && e.audio)")

    ws, ready = await open_audio(server.ws, "main")
    assert ready["type"] == "ready", ready
    await say(ws, 1, 2)
    latest = page.locator(".final.latest .text")
    await expect(latest).to_have_text("it: w1 w2")
    await say(ws, 3)
    await expect(latest).to_have_text("it: w3")
    await expect(page.locator(".final")).to_have_count(2)
    await wait_audio(page, "events.filter(e => e.kind === 'speech_end').length >= 2")
    await wait_audio(page, "log.length >= 6")
    state = await audio_state(page)
    log = state["log"]
    segments = sorted({e["segment"] for e in log})
    assert len(segments) == 2
    assert [(e["segment"], e["index"]) for e in log] == [(s, i) for s in segments for i in range(3)]
    check_schedule(log)
    for segment in segments:
        assert text_before_audio(state["events"], segment)
    assert synth.calls == [("it: w1 w2", "it"), ("it: w3", "it")]

    # Another language: the lines already shown switch, and the next sentence is German.
    await page.locator('.lang[data-code="de"]').tap()
    await expect(latest).to_have_text("de: w3")
    await expect(page.locator(".final").first.locator(".text")).to_have_text("de: w1 w2")
    await wait_audio(page, "events.some(e => e.kind === 'listening' && e.lang === 'de' && e.audio)")
    await say(ws, 4)
    await expect(latest).to_have_text("de: w4")
    await wait_audio(page, "log.length >= 9")
    state = await audio_state(page)
    # The switch dropped the Italian speech still queued: German starts a new burst.
    assert state["log"][:6] == log
    check_schedule(state["log"][6:])
    third = state["log"][-1]["segment"]
    assert third > segments[-1]
    assert text_before_audio(state["events"], third)
    assert synth.calls[-1] == ("de: w4", "de")

    # Mute: the page tells the server and schedules nothing more.
    await button.tap()
    await expect(button).to_have_text("Sound off")
    await expect(button).to_have_attribute("aria-pressed", "false")
    await wait_audio(
        page, "events.some(e => e.kind === 'listening' && e.lang === 'de' && !e.audio)"
    )
    scheduled = len(state["log"])
    await say(ws, 5)
    await expect(latest).to_have_text("de: w5")
    await page.wait_for_timeout(1000)  # room for speech that must not come
    state = await audio_state(page)
    assert len(state["log"]) == scheduled
    muted = [e for e in state["events"] if e["kind"] == "mute"][-1]
    late = [e for e in state["events"] if e["kind"] == "speech" and e["t"] > muted["t"]]
    assert late == []  # the server stopped sending speech
    assert len(synth.calls) == 3
    await ws.close()
    assert page.errors == []  # type: ignore[attr-defined]


async def test_room_without_speech_is_text_only(
    tmp_path: Path, phone: BrowserContext, live_server: LiveServers
) -> None:
    server = await start_server(live_server, tmp_path, None)
    page = await open_listener(phone, server)
    await expect(page.locator('[data-part="sound-note"]')).to_have_text("Text only in this room")
    await expect(page.locator('[data-part="sound-button"]')).to_be_hidden()
    await page.locator('.lang[data-code="de"]').tap()
    ws, _ = await open_audio(server.ws, "main")
    await say(ws, 7)
    await expect(page.locator(".final.latest .text")).to_have_text("de: w7")
    await ws.close()
    assert page.errors == []  # type: ignore[attr-defined]


async def test_source_language_and_missing_translation(
    tmp_path: Path, phone: BrowserContext, live_server: LiveServers
) -> None:
    """The source language shows the spoken text (and says sound is for translations); a line
    without the chosen translation shows the source text with a discreet note."""
    synth = ChunkSynthesizer()
    server = await start_server(live_server, tmp_path, synth)
    page = await open_listener(phone, server)
    await page.locator('.lang[data-code="en-US"]').tap()
    await expect(page.locator('[data-part="sound-note"]')).to_be_visible()
    await expect(page.locator('[data-part="sound-button"]')).to_be_hidden()
    ws, _ = await open_audio(server.ws, "main")
    await say(ws, 8, 9)
    await expect(page.locator(".final.latest .text")).to_have_text("w8 w9")
    await expect(page.locator(".final.latest .note")).to_have_count(0)
    # A final without the German translation: the source text, with a discreet note.
    await page.locator('.lang[data-code="de"]').tap()
    await expect(page.locator('[data-part="sound-button"]')).to_be_visible()
    await say(ws, 66)
    latest = page.locator(".final.latest")
    await expect(latest.locator(".text")).to_have_text("w66")
    await expect(latest.locator(".note")).to_have_text("original · no DE translation")
    await expect(page.locator(".final").first.locator(".text")).to_have_text("de: w8 w9")
    await ws.close()
    assert page.errors == []  # type: ignore[attr-defined]


async def test_theme_and_size_persist_across_reload(
    tmp_path: Path, phone: BrowserContext, live_server: LiveServers
) -> None:
    server = await start_server(live_server, tmp_path, None)
    page = await open_listener(phone, server)
    html = page.locator("html")
    await expect(html).to_have_attribute("data-theme", "dark")
    await page.locator('[data-action="settings"]').tap()
    await page.locator('[data-action="theme"][data-value="light"]').tap()
    await page.locator('[data-action="size"][data-value="4"]').tap()
    await page.locator('.lang[data-code="it"]').tap()
    await expect(html).to_have_attribute("data-theme", "light")
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    await page.reload()
    await expect(page.locator('[data-part="app"]')).to_have_attribute("data-connection", "open")
    await expect(html).to_have_attribute("data-theme", "light")
    scale = await page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--scale').trim()"
    )
    assert scale == "1.75"
    assert await page.evaluate("getComputedStyle(document.body).backgroundColor") == background
    await expect(page.locator('.lang[data-code="it"]')).to_have_attribute("aria-checked", "true")
    await page.locator('[data-action="settings"]').tap()
    await expect(page.locator('[data-action="size"][data-value="4"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    await page.locator('[data-action="theme"][data-value="contrast"]').tap()
    await page.reload()
    await expect(html).to_have_attribute("data-theme", "contrast")
    assert await page.evaluate("getComputedStyle(document.body).backgroundColor") == (
        "rgb(0, 0, 0)"
    )


async def test_refused_token_is_explained_and_retried_slowly(
    tmp_path: Path, phone: BrowserContext, live_server: LiveServers
) -> None:
    server = await start_server(live_server, tmp_path, None)
    page = await phone.new_page()
    await page.goto(f"{server.http}/listen/main?token=wrong-token-0000000000")
    banner = page.locator('[data-part="banner"]')
    await expect(banner).to_contain_text("refused")
    await expect(page.locator('[data-part="conn-label"]')).to_have_text("Access refused")
    state = await page.evaluate("window.__listener.state")
    assert state["refused"]["code"] == 4011
    assert state["retryMs"] >= 60000
    # The tab keeps the token it was given (reloads, reconnects); a new tab without one:
    page = await phone.new_page()
    await page.goto(f"{server.http}/listen/main")
    banner = page.locator('[data-part="banner"]')
    await expect(banner).to_contain_text("needs an access code")
    assert (await page.evaluate("window.__listener.state"))["refused"]["code"] == 4010


async def test_phone_layout_fits(
    tmp_path: Path, phone: BrowserContext, live_server: LiveServers
) -> None:
    """At 390x844: nothing scrolls sideways, every control is at least 44 px, the newest line
    is in view. Screenshots for a human in $LISTENER_SHOTS."""
    synth = ChunkSynthesizer()
    server = await start_server(live_server, tmp_path, synth)
    shots = os.environ.get("LISTENER_SHOTS")
    page = await open_listener(phone, server)
    await page.locator('.lang[data-code="it"]').tap()
    if shots:
        await page.screenshot(path=f"{shots}/listener-empty.png")
    ws, _ = await open_audio(server.ws, "main")
    for words in ((1, 2, 3, 4, 5, 6, 7, 8), (9, 10, 11), (12, 13, 14, 15, 16), (17, 18)):
        await say(ws, *words)
    latest = page.locator(".final.latest .text")
    await expect(latest).to_have_text("it: w17 w18")
    metrics = await page.evaluate(
        """() => {
            const root = document.scrollingElement;
            const small = [...document.querySelectorAll('button')]
                .filter(b => b.offsetParent !== null)
                .map(b => b.getBoundingClientRect())
                .filter(r => r.width < 44 || r.height < 44)
                .map(r => [r.width, r.height]);
            const newest = document.querySelector('.final.latest').getBoundingClientRect();
            return {
                scrollsX: root.scrollWidth > innerWidth,
                small,
                newestBottom: newest.bottom,
                newestRight: newest.right,
                latestSize: parseFloat(getComputedStyle(
                    document.querySelector('.final.latest .text')).fontSize),
            };
        }"""
    )
    assert metrics["scrollsX"] is False
    assert metrics["small"] == []
    assert metrics["newestBottom"] <= 844
    assert metrics["newestRight"] <= 390
    assert metrics["latestSize"] >= 22
    if shots:
        await page.screenshot(path=f"{shots}/listener-dark.png")
        await page.locator('[data-part="sound-button"]').tap()
        await page.locator('[data-action="settings"]').tap()
        await page.locator('[data-action="theme"][data-value="light"]').tap()
        await page.screenshot(path=f"{shots}/listener-light-settings.png")
        await page.locator('[data-action="theme"][data-value="contrast"]').tap()
        await page.locator('[data-action="size"][data-value="3"]').tap()
        await page.locator('[data-action="settings"]').tap()
        await page.screenshot(path=f"{shots}/listener-contrast-large.png")
    await ws.close()
    assert page.errors == []  # type: ignore[attr-defined]


async def test_server_answers_listen(tmp_path: Path, live_server: LiveServers) -> None:
    """The contract the page relies on, without a browser: status lists the languages and the
    speech engine, and ``listen`` is answered with ``listening``."""
    from websockets.asyncio.client import connect

    server = await start_server(live_server, tmp_path, ChunkSynthesizer())
    url = f"{server.ws}/ws/captions/main?token={LISTENER_TOKEN}&backlog=0"
    async with connect(url, open_timeout=10) as ws:
        status = await recv_json(ws, WAIT)
        assert status["type"] == "status"
        assert status["languages"] == ["en-US", "it", "de"]
        assert status["speech"] is True
        await ws.send(json.dumps({"type": "listen", "lang": "it", "audio": True}))
        answer = await recv_json(ws, WAIT)
        assert answer == {"type": "listening", "lang": "it", "audio": True, "reason": None}


# ------------------------------------------------------------------------------------------
# Pure functions and the audio scheduler, run in the page's own engine

PURE_SCRIPT = """async () => {
    const r = {...await import('/static/listener-model.js'),
               ...await import('/static/listener-languages.js'),
               ...await import('/static/listener-prefs.js'),
               ...await import('/static/listener-view-model.js')};
    const a = await import('/static/listener-audio.js');
    const backoff = (n) => 1000 * 1.5 ** n;
    const out = {};
    out.address = [
        ['/listen/main', '?token=abc'], ['/listen/main/', ''],
        ['/static/listen.html', '?room=aula_magna&lang=IT'], ['/listen/Main', ''],
        ['/listen/a%2Fb', ''], ['/static/listen.html', ''],
    ].map(([path, search]) => r.parseAddress(path, search));
    const langs = ['en-US', 'it', 'de'];
    out.pick = [
        {}, {browser: ['de-DE', 'en']}, {browser: ['en-GB', 'it']}, {saved: 'it'},
        {urlLang: 'de', saved: 'it'}, {saved: 'fr', browser: ['fr']},
    ].map((wishes) => r.pickLanguage(langs, wishes));
    const defaults = r.defaultPrefs(false);
    out.prefs = [
        null, 'not json', '{"theme": "contrast", "size": 4, "lang": "IT"}',
        '{"theme": "pink", "size": 9, "lang": "<x>"}', '{"size": 1.5}',
    ].map((saved) => r.parsePrefs(saved, defaults));
    out.retry = [[0, 4010], [0, 4011], [0, 4012], [0, 1006], [3, 4008], [12, 1006]]
        .map(([n, code]) => Math.round(r.retryDelayFor(n, {code}, backoff)));

    const status = {type: 'status', room: 'main', source_lang: 'en-US', targets: ['it', 'de'],
                    languages: ['en-US', 'it', 'de'], speech: true, synthesizer: 'espeak',
                    translator: 'amazon-translate', audio: 'flowing'};
    const final = (segment, text, translations) => ({type: 'final', segment, text,
        lang: 'en-US', translations});
    let st = r.initialState('main');
    st = r.withConnection(st, 'open');
    st = [status, final(1, 'hello', {it: 'ciao', de: 'hallo'}), final(2, 'bye', {it: 'addio'}),
          {type: 'partial', segment: 3, text: 'and'}].reduce(r.reduce, st);
    const view = (lang, sound) => r.viewModel(r.withLanguage(st, lang), sound);
    const on = {enabled: true, muted: false, supported: true};
    const lines = (vm) => vm.lines.map((l) => [l.text, l.missing, l.latest, l.age]);
    out.lines = {
        it: lines(view('it', on)), de: lines(view('de', on)), en: lines(view('en-US', on)),
    };
    out.partial = [view('en-US', on).partial?.text ?? null, view('it', on).partial];
    out.sound = [
        r.viewModel(r.reduce(r.withLanguage(st, 'it'), {...status, speech: false}), on).sound,
        view('en-US', on).sound.mode,
        view('it', {enabled: false, muted: false, supported: true}).sound.mode,
        view('it', {enabled: true, muted: true, supported: true}).sound.mode,
        view('it', on).sound.mode,
        view('it', {enabled: false, muted: false, supported: false}).sound.mode,
    ];
    const refused = r.withConnection(st, 'reconnecting', {code: 4011, reason: 'token_wrong: x',
                                                          delayMs: 60000});
    out.refused = [r.viewModel(refused, on).connection, r.viewModel(refused, on).banner,
                   r.withConnection(refused, 'open').refused];
    out.listen = [r.listenMessage('it', true), r.listenMessage(null, true)];
    out.ignored = r.reduce(st, {type: 'mystery'}) === st;

    const bytes = new Uint8Array([0x00, 0x80, 0xff, 0x7f, 0x00, 0x00, 0x01]).buffer;
    out.pcm = Array.from(a.pcmToFloat32(bytes));

    // The scheduler against a fake AudioContext whose clock the test moves.
    const started = [];
    const ctx = {
        state: 'suspended', currentTime: 10, destination: {},
        async resume() { this.state = 'running'; },
        createBuffer: (channels, length, sampleRate) => ({length, sampleRate,
            duration: length / sampleRate, copyToChannel() {}}),
        createBufferSource() {
            const source = {stopped: false, connect() {}, disconnect() {},
                start(at) { this.at = at; started.push(this); },
                stop() { this.stopped = true; }};
            return source;
        },
    };
    const quiet = {info() {}, warn() {}};
    const p = new a.SpeechPlayer({createContext: () => ctx, clock: () => 0, log: quiet});
    const dropped = (p.pcm(new ArrayBuffer(3200)), p.log.length);  // not enabled yet
    await p.enable();
    p.setLanguage('it');
    const chunk = (seconds) => new ArrayBuffer(Math.round(seconds * 16000) * 2);
    const sentence = (segment, ...lengths) => {
        p.text({segment});
        p.speechStart({type: 'speech', segment, lang: 'it', sample_rate: 16000,
                       channels: 1, format: 's16le'});
        lengths.forEach((s) => p.pcm(chunk(s)));
        p.speechEnd({segment, ok: true});
    };
    sentence(1, 0.25, 0.15, 0.1);
    ctx.currentTime = 11;  // sentence 1 has played; a pause
    sentence(2, 0.5);
    const entries = () => p.log.map((e) => [e.segment, e.index, Math.round(e.startAt * 1000),
                                             Math.round(e.duration * 1000), e.repack]);
    out.contiguous = entries();
    // Falling behind: 7 s queued, then a 2 s sentence arrives: sentence 3 (not started) goes.
    p.log.length = 0;
    ctx.currentTime = 20;
    sentence(3, 2, 2, 2, 1);
    sentence(4, 2, 1);
    out.skip = {log: entries(), skipped: p.events.filter((e) => e.kind === 'skip')
                    .map((e) => e.segment),
                queued: Math.round(p.queuedSeconds() * 1000)};
    // Mute stops what is queued and schedules nothing; a late chunk after it is dropped.
    const before = p.log.length;
    p.speechStart({type: 'speech', segment: 5, lang: 'it'});
    p.setMuted(true);
    p.pcm(chunk(0.5));
    out.mute = {scheduled: p.log.length - before, queued: p.queue.length,
                live: started.filter((s) => s.at !== undefined && !s.stopped).length};
    // Unmuted, another language: speech left over in the old one is ignored.
    await p.enable();
    p.setLanguage('de');
    p.speechStart({type: 'speech', segment: 6, lang: 'it'});
    p.pcm(chunk(0.5));
    p.speechStart({type: 'speech', segment: 7, lang: 'de'});
    p.pcm(chunk(0.5));
    out.language = p.log.slice(before).map((e) => e.segment);
    out.dropped = dropped;
    return out;
}"""


async def test_pure_functions(server: LiveServer, browser: Browser) -> None:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(f"{server.http}/static/listen.css")  # same origin, no page wiring
        out = await page.evaluate(PURE_SCRIPT)
    finally:
        await context.close()
    assert out["address"] == [
        {"room": "main", "token": "abc", "lang": None},
        {"room": "main", "token": None, "lang": None},
        {"room": "aula_magna", "token": None, "lang": "it"},
        {"room": None, "token": None, "lang": None},
        {"room": None, "token": None, "lang": None},
        {"room": None, "token": None, "lang": None},
    ]
    assert out["pick"] == ["en-US", "de", "en-US", "it", "de", "en-US"]
    default = {"theme": "dark", "size": 1, "lang": None}
    assert out["prefs"] == [
        default,
        default,
        {"theme": "contrast", "size": 4, "lang": "it"},
        default,
        default,
    ]
    assert out["retry"] == [60000, 60000, 60000, 1000, 3375, 129746]
    # Newest last; older lines age; a missing translation shows the source, marked.
    assert out["lines"] == {
        "it": [["ciao", False, False, 1], ["addio", False, True, 0]],
        "de": [["hallo", False, False, 1], ["bye", True, True, 0]],
        "en": [["hello", False, False, 1], ["bye", False, True, 0]],
    }
    assert out["partial"] == ["and", None]  # partials only in the source language
    assert out["sound"] == [
        {"mode": "unavailable", "note": "Text only in this room"},
        "source",
        "enable",
        "muted",
        "on",
        "unavailable",
    ]
    assert out["refused"][0] == {"state": "refused", "label": "Access refused"}
    assert "refused" in out["refused"][1]
    assert "Trying again in 60 s" in out["refused"][1]
    assert out["refused"][2] is None
    assert out["listen"] == [{"type": "listen", "lang": "it", "audio": True}, None]
    assert out["ignored"] is True
    assert out["pcm"] == [-1.0, 32767 / 32768, 0.0]
    assert out["dropped"] == 0
    # [segment, index, startAt ms, duration ms, repacked]: back to back from now + 120 ms
    assert out["contiguous"] == [
        [1, 0, 10120, 250, False],
        [1, 1, 10370, 150, False],
        [1, 2, 10520, 100, False],
        [2, 0, 11120, 500, False],
    ]
    assert out["skip"]["skipped"] == [3]
    assert out["skip"]["log"] == [
        [3, 0, 20120, 2000, False],
        [3, 1, 22120, 2000, False],
        [3, 2, 24120, 2000, False],
        [3, 3, 26120, 1000, False],
        [4, 0, 27120, 2000, False],
        [4, 0, 20120, 2000, True],  # moved up once sentence 3 was skipped
        [4, 1, 22120, 1000, False],
    ]
    assert out["skip"]["queued"] == 3120
    assert out["mute"] == {"scheduled": 0, "queued": 0, "live": 0}
    assert out["language"] == [7]

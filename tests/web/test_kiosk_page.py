"""The kiosk monitor page in real Chromium, against a scripted protocol peer.

The peer is a tiny aiohttp app on 127.0.0.1 that serves ``kiosk/web`` like edge_server does
(``/kiosk/{room}`` and ``/static/``) and a ``/ws/captions/{room}`` socket whose messages each
test sends by hand, following docs/protocol.md (``status`` first, then the backlog, then live
messages; finals are remembered and re-sent as backlog on the next connection).

Set ``KIOSK_SCREENSHOT=/tmp/kiosk-screenshot.png`` to keep the 1920x1080 screenshot.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from playwright.async_api import Browser, ConsoleMessage, Page, expect

import kiosk

WAIT = 5.0  # seconds: bound on every wait for the peer
UI_WAIT_MS = 5000  # milliseconds: bound on every Playwright wait

pytestmark = [pytest.mark.browser, pytest.mark.timeout(30)]

expect.set_options(timeout=UI_WAIT_MS)

STATUS_OFFLINE: dict[str, Any] = {
    "type": "status",
    "room": "main",
    "engine": "pocketsphinx",
    "source_lang": "en-US",
    "targets": [],
    "translator": "none",
    "audio": "flowing",
}
STATUS_TRANSLATING: dict[str, Any] = {
    **STATUS_OFFLINE,
    "targets": ["it", "de"],
    "translator": "argos",
}


def final(segment: int, text: str, **translations: str) -> dict[str, Any]:
    """A ``final`` message as the server sends it."""
    return {
        "type": "final",
        "room": "main",
        "segment": segment,
        "text": text,
        "lang": "en-US",
        "start": segment * 3.0,
        "end": segment * 3.0 + 2.5,
        "engine": "pocketsphinx",
        "translations": translations,
        "wall": "2026-11-21T10:15:02.113Z",
    }


def partial(segment: int, text: str) -> dict[str, Any]:
    """A ``partial`` message as the server sends it."""
    return {
        "type": "partial",
        "room": "main",
        "segment": segment,
        "text": text,
        "lang": "en-US",
        "start": segment * 3.0,
        "end": segment * 3.0 + 1.0,
        "engine": "pocketsphinx",
    }


class Peer:
    """The server side of the captions socket, driven by the test."""

    def __init__(self) -> None:
        self.status: dict[str, Any] = dict(STATUS_OFFLINE)
        self.finals: list[dict[str, Any]] = []
        self.queries: list[dict[str, str]] = []
        self.sockets: list[web.WebSocketResponse] = []
        self.received: list[Any] = []
        self.changed = asyncio.Condition()
        self.base_url = ""

    async def captions(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.queries.append(dict(request.query))
        backlog = int(request.query.get("backlog", "50"))
        await ws.send_json(self.status)
        for message in self.finals[-backlog:] if backlog else []:
            await ws.send_json({**message, "backlog": True})
        async with self.changed:
            self.sockets.append(ws)
            self.changed.notify_all()
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                self.received.append(data)
                if data.get("type") == "ping":
                    await ws.send_json({"type": "pong"})
        finally:
            async with self.changed:
                if ws in self.sockets:
                    self.sockets.remove(ws)
                self.changed.notify_all()
        return ws

    async def wait_connections(self, count: int) -> None:
        """Wait until ``count`` connections were made and one is open (status + backlog sent)."""
        async with asyncio.timeout(WAIT), self.changed:
            await self.changed.wait_for(lambda: len(self.queries) >= count and bool(self.sockets))

    async def send(self, *messages: dict[str, Any] | str) -> None:
        """Send to every open socket; finals are kept for the next connection's backlog."""
        for message in messages:
            if isinstance(message, dict) and message.get("type") == "final":
                self.finals.append(message)
            text = message if isinstance(message, str) else json.dumps(message)
            async with asyncio.timeout(WAIT):
                for ws in list(self.sockets):
                    await ws.send_str(text)

    async def close_all(self, code: int = 1012) -> None:
        """Close every open socket, like a server restart."""
        async with asyncio.timeout(WAIT):
            for ws in list(self.sockets):
                await ws.close(code=code, message=b"restarting")


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    peer = Peer()

    async def kiosk_page(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(kiosk.KIOSK_PAGE)

    app = web.Application()
    app.router.add_get("/kiosk/{room}", kiosk_page)
    app.router.add_get("/ws/captions/{room}", peer.captions)
    app.router.add_static("/static/", kiosk.WEB_ROOT)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    peer.base_url = f"http://{host}:{port}"
    yield peer
    await peer.close_all(code=1001)
    async with asyncio.timeout(WAIT):
        await runner.cleanup()


class Console:
    """Console messages and uncaught errors of a page."""

    def __init__(self, page: Page) -> None:
        self.messages: list[tuple[str, str]] = []
        self.errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _on_console(self, message: ConsoleMessage) -> None:
        self.messages.append((message.type, message.text))

    def warnings(self) -> list[str]:
        return [text for kind, text in self.messages if kind == "warning"]


@pytest.fixture
async def raw_page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1920, "height": 1080})
    page = await context.new_page()
    page.set_default_timeout(UI_WAIT_MS)
    yield page
    await context.close()


@pytest.fixture
def console(raw_page: Page) -> Iterator[Console]:
    """The page's console; the test fails if the page threw an uncaught error."""
    console = Console(raw_page)
    yield console
    assert console.errors == [], f"uncaught errors in the page: {console.errors}"


@pytest.fixture
def page(raw_page: Page, console: Console) -> Page:
    """A 1920x1080 page whose console is watched."""
    return raw_page


async def open_kiosk(page: Page, peer: Peer, query: str = "", room: str = "main") -> None:
    """Load the kiosk page and wait until its socket is open and the peer has sent the backlog."""
    count = len(peer.queries) + 1
    await page.goto(f"{peer.base_url}/kiosk/{room}{query}")
    await peer.wait_connections(count)
    await expect(page.locator("body")).to_have_attribute("data-connection", "open")


async def segments(page: Page, selector: str = ".final") -> list[int]:
    values = await page.locator(f".captions {selector}").evaluate_all(
        "nodes => nodes.map(n => Number(n.dataset.segment))"
    )
    return [int(v) for v in values]


# ------------------------------------------------------------------------------------------
# Behaviour


async def test_final_appears_with_its_text(page: Page, peer: Peer) -> None:
    await open_kiosk(page, peer)
    await expect(page.locator(".empty")).to_have_text("Waiting for the speaker…")
    await expect(page.locator(".corner .room")).to_have_text("main")
    await expect(page.locator(".corner .dot")).to_have_attribute("data-audio", "flowing")
    # partials on: not asked to be turned off; the page says it is a kiosk (status page)
    assert peer.queries[0] == {"backlog": "6", "client": "kiosk"}

    await peer.send(final(1, "good morning everyone"))
    line = page.locator('.final[data-segment="1"]')
    await expect(line.locator(".source")).to_have_text("good morning everyone")
    await expect(page.locator(".empty")).to_be_hidden()
    state = await page.evaluate("window.__kiosk.state.finals.map(f => f.text)")
    assert state == ["good morning everyone"]

    await peer.send({**STATUS_OFFLINE, "audio": "absent"})
    await expect(page.locator(".corner .dot")).to_have_attribute("data-audio", "absent")


async def test_partial_replaced_in_place_then_by_its_final(page: Page, peer: Peer) -> None:
    await open_kiosk(page, peer)
    await peer.send(final(4, "thank you for coming"), partial(5, "he might"))
    live = page.locator(".captions .partial")
    await expect(live).to_have_text("he might")
    await expect(live).to_have_attribute("data-segment", "5")

    await peer.send(partial(5, "he might even have"))
    await expect(live).to_have_text("he might even have")
    await expect(live).to_have_count(1)
    # the partial comes after the finals
    assert await page.locator(".captions > .line").last.get_attribute("class") == "line partial"

    await peer.send(final(5, "he might even have been made amiable himself"))
    await expect(live).to_have_count(0)
    await expect(page.locator('.final[data-segment="5"] .source')).to_have_text(
        "he might even have been made amiable himself"
    )
    assert await segments(page) == [4, 5]

    await peer.send(partial(6, "and then"))
    await expect(live).to_have_attribute("data-segment", "6")
    assert await page.locator(".captions > .line").last.get_attribute("data-segment") == "6"


async def test_partials_off_hides_partials_and_asks_the_server(page: Page, peer: Peer) -> None:
    await open_kiosk(page, peer, "?partials=0")
    assert peer.queries[0] == {"backlog": "6", "partials": "0", "client": "kiosk"}
    # even if a partial arrives anyway, it is not shown
    await peer.send(partial(1, "some guess"), final(1, "the actual words"))
    await expect(page.locator('.final[data-segment="1"]')).to_have_count(1)
    await expect(page.locator(".partial")).to_have_count(0)


async def test_translations_shown_for_requested_languages(page: Page, peer: Peer) -> None:
    peer.status = dict(STATUS_TRANSLATING)
    await open_kiosk(page, peer, "?lang=it,de")
    await peer.send(
        final(1, "good morning", it="buongiorno", de="guten Morgen"),
        final(2, "welcome back", it="bentornati"),  # the German one failed: absent
    )
    first = page.locator('.final[data-segment="1"]')
    await expect(first.locator('.translation[data-lang="it"] .text')).to_have_text("buongiorno")
    await expect(first.locator('.translation[data-lang="it"] .tag')).to_have_text("IT")
    await expect(first.locator('.translation[data-lang="de"] .text')).to_have_text("guten Morgen")
    second = page.locator('.final[data-segment="2"]')
    await expect(second.locator('.translation[data-lang="it"] .text')).to_have_text("bentornati")
    missing = second.locator('.translation[data-lang="de"]')
    await expect(missing).to_have_class("translation lang-1 missing")
    await expect(missing.locator(".text")).to_have_text("—")
    await expect(page.locator(".notice")).to_be_hidden()

    colours = await first.evaluate(
        """line => ['.source', '[data-lang="it"]', '[data-lang="de"]']
            .map(s => getComputedStyle(line.querySelector(s)).color)"""
    )
    assert len(set(colours)) == 3, colours


async def test_offline_translator_shows_notice_and_source(page: Page, peer: Peer) -> None:
    await open_kiosk(page, peer, "?lang=it")
    await peer.send(final(1, "the source text stays"))
    await expect(page.locator('.final[data-segment="1"] .source')).to_have_text(
        "the source text stays"
    )
    notice = page.locator(".notice")
    await expect(notice).to_be_visible()
    await expect(notice).to_have_text("Translation unavailable offline — showing original")
    await expect(page.locator(".translation")).to_have_count(0)

    # once a translator is back, the notice goes and translations show
    await peer.send(STATUS_TRANSLATING, final(2, "hello", it="ciao"))
    await expect(notice).to_be_hidden()
    await expect(page.locator('.translation[data-lang="it"] .text')).to_have_text(["—", "ciao"])


async def test_reconnects_after_close_without_duplicating_backlog(page: Page, peer: Peer) -> None:
    await open_kiosk(page, peer)
    await peer.send(final(1, "first line"), final(2, "second line"), partial(3, "third"))
    await expect(page.locator(".partial")).to_have_text("third")

    await peer.close_all()
    body = page.locator("body")
    await expect(body).to_have_attribute("data-connection", "reconnecting")
    banner = page.locator(".banner")
    await expect(banner).to_be_visible()
    await expect(banner).to_have_text("Reconnecting…")
    assert await segments(page) == [1, 2]  # captions stay on screen
    await expect(page.locator(".partial")).to_have_count(0)  # a stale guess does not

    await peer.wait_connections(2)  # first retry after 1 s; the backlog is re-sent
    await expect(body).to_have_attribute("data-connection", "open")
    await expect(banner).to_be_hidden()
    await peer.send(final(3, "third line"))
    await expect(page.locator('.final[data-segment="3"]')).to_have_count(1)
    assert await segments(page) == [1, 2, 3]
    assert peer.queries[1] == {"backlog": "6", "client": "kiosk"}


async def test_wire_html_is_shown_literally(page: Page, peer: Peer) -> None:
    peer.status = dict(STATUS_TRANSLATING)
    await open_kiosk(page, peer, "?lang=it")
    text = "<b>html</b> & <img src=x onerror=window.__pwned=1>"
    await peer.send(final(1, text, it="<i>ciao</i>"), partial(2, "<b>bold</b>"))
    await expect(page.locator('.final[data-segment="1"] .source')).to_have_text(text)
    await expect(page.locator(".translation .text")).to_have_text("<i>ciao</i>")
    await expect(page.locator(".partial .source")).to_have_text("<b>bold</b>")
    await expect(page.locator(".captions b, .captions i, .captions img")).to_have_count(0)
    assert await page.evaluate("window.__pwned") is None


async def test_unknown_and_malformed_messages_are_ignored(
    page: Page, peer: Peer, console: Console
) -> None:
    await open_kiosk(page, peer)
    await peer.send(
        {"type": "mystery", "text": "should not show"},
        "this is { not json",
        {"no": "type"},
        {"type": "final", "segment": "seven", "text": "bad segment"},
        {"type": "error", "code": "unknown_type", "message": "test"},
        final(7, "still working"),
    )
    await expect(page.locator('.final[data-segment="7"] .source')).to_have_text("still working")
    await expect(page.locator(".final")).to_have_count(1)
    warnings = "\n".join(console.warnings())
    assert 'UNKNOWN message type "mystery"' in warnings
    assert "malformed JSON" in warnings
    assert 'without a string "type"' in warnings
    await expect(page.locator("body")).to_have_attribute("data-connection", "open")


async def test_invalid_url_options_fall_back_and_warn(
    page: Page, peer: Peer, console: Console
) -> None:
    await open_kiosk(page, peer, "?size=huge&lines=99&partials=maybe&lang=it,EN-us,xx_1,de")
    options = await page.evaluate("window.__kiosk.options")
    assert options == options_with(langs=["it", "en-US"])
    warnings = "\n".join(console.warnings())
    for name in ("size:", "lines:", "partials:", 'lang: "xx_1"', "at most 2"):
        assert name in warnings, name


async def test_lines_cap_size_and_dimming(page: Page, peer: Peer) -> None:
    await open_kiosk(page, peer, "?lines=3&size=1.5")
    await peer.send(*(final(n, f"line number {n}") for n in range(1, 6)))
    await expect(page.locator(".final")).to_have_count(3)
    assert await segments(page) == [3, 4, 5]
    ages = await page.locator(".final").evaluate_all(
        "nodes => nodes.map(n => [n.dataset.age, Number(getComputedStyle(n).opacity)])"
    )
    assert [age for age, _ in ages] == ["2", "1", "0"]
    assert ages[0][1] < ages[1][1] < ages[2][1] == 1
    size = await page.locator('.final[data-segment="5"] .source').evaluate(
        "n => parseFloat(getComputedStyle(n).fontSize)"
    )
    assert size == pytest.approx(64 * 1.5, abs=2)


async def test_invalid_room_does_not_connect(page: Page, peer: Peer) -> None:
    await page.goto(f"{peer.base_url}/kiosk/Main")
    await expect(page.locator(".empty")).to_contain_text("No valid room")
    await page.wait_for_timeout(300)
    assert peer.queries == []


async def test_screenshot_1080p(page: Page, peer: Peer, tmp_path: Path) -> None:
    """Layout at 1920x1080: 64 px text, newest line in view, nothing scrolls."""
    peer.status = dict(STATUS_TRANSLATING)
    await open_kiosk(page, peer, "?lang=it")
    await peer.send(
        final(
            11,
            "Good morning everyone, and welcome to the annual meeting.",
            it="Buongiorno a tutti e benvenuti all'assemblea annuale.",
        ),
        final(
            12,
            "Before we start, a few words about today's schedule.",
            it="Prima di iniziare, qualche parola sul programma di oggi.",
        ),
        final(
            13,
            "The first session runs until eleven, then we break for coffee.",
            it="La prima sessione dura fino alle undici, poi pausa caffè.",
        ),
        final(
            14,
            "After lunch the working groups meet in rooms B and C.",
            it="Dopo pranzo i gruppi di lavoro si riuniscono nelle sale B e C.",
        ),
        partial(15, "and the closing remarks will be"),
    )
    await expect(page.locator(".partial")).to_have_text("and the closing remarks will be")
    metrics = await page.evaluate(
        """() => {
            const newest = document.querySelector('.final[data-segment="14"] .source');
            const live = document.querySelector('.partial');
            const root = document.scrollingElement;
            return {
                fontSize: parseFloat(getComputedStyle(newest).fontSize),
                newestBottom: newest.getBoundingClientRect().bottom,
                liveBottom: live.getBoundingClientRect().bottom,
                scrolls: root.scrollHeight > innerHeight || root.scrollWidth > innerWidth,
            };
        }"""
    )
    assert metrics["fontSize"] == pytest.approx(64, abs=1)
    assert metrics["liveBottom"] <= 1080
    assert metrics["newestBottom"] <= metrics["liveBottom"]
    assert metrics["scrolls"] is False

    shot = tmp_path / "kiosk.png"
    await page.screenshot(path=str(shot))
    if target := os.environ.get("KIOSK_SCREENSHOT"):
        shutil.copyfile(shot, target)


# ------------------------------------------------------------------------------------------
# Pure functions, run in the page's own engine (table-driven)

OPTION_DEFAULTS: dict[str, Any] = {
    "langs": [], "partials": True, "size": 1, "lines": 6, "qr": True, "token": None,
}  # fmt: skip


def options_with(**changes: Any) -> dict[str, Any]:
    """The parsed kiosk options: the defaults with ``changes``."""
    return {**OPTION_DEFAULTS, **changes}


OPTION_CASES: list[tuple[str, dict[str, Any], int]] = [
    ("", options_with(), 0),
    ("?lang=it,de", options_with(langs=["it", "de"]), 0),
    ("?lang=it,de,fr", options_with(langs=["it", "de"]), 1),
    ("?lang=IT,it", options_with(langs=["it"]), 0),
    ("?lang=pt-br", options_with(langs=["pt-BR"]), 0),
    ("?lang=<x>", options_with(), 1),
    ("?partials=0", options_with(partials=False), 0),
    ("?partials=false", options_with(partials=False), 0),
    ("?partials=yes", options_with(), 1),
    ("?size=2.5&lines=20", options_with(size=2.5, lines=20), 0),
    ("?size=0.5&lines=1", options_with(size=0.5, lines=1), 0),
    ("?size=0.4&lines=0", options_with(), 2),
    ("?size=&lines=2.5", options_with(), 2),
    ("?size=Infinity&lines=-3", options_with(), 2),
    ("?colour=red", options_with(), 1),
    ("?qr=0&token=abc", options_with(qr=False, token="abc"), 0),
    ("?qr=maybe", options_with(), 1),
]

OPTS = {"partials": True, "lines": 3}

# (name, messages, options, expected [finals segment:text], expected [partials segment:text])
REDUCER_CASES: list[tuple[str, list[dict[str, Any]], dict[str, Any], list[str], list[str]]] = [
    ("final added", [final(1, "a")], OPTS, ["1:a"], []),
    ("sorted by segment", [final(2, "b"), final(1, "a")], OPTS, ["1:a", "2:b"], []),
    (
        "capped to lines",
        [final(n, str(n)) for n in range(1, 6)],
        OPTS,
        ["3:3", "4:4", "5:5"],
        [],
    ),
    (
        "backlog de-duplicated",
        [final(1, "a"), final(2, "b"), {**final(1, "a"), "backlog": True}, final(2, "b")],
        OPTS,
        ["1:a", "2:b"],
        [],
    ),
    (
        "old backlog stays out",
        [*(final(n, str(n)) for n in range(4, 7)), final(1, "1"), final(2, "2")],
        OPTS,
        ["4:4", "5:5", "6:6"],
        [],
    ),
    (
        "same segment updated",
        [final(1, "a"), final(2, "b"), final(1, "A")],
        OPTS,
        ["1:A", "2:b"],
        [],
    ),
    ("partial replaced", [partial(1, "a"), partial(1, "a b")], OPTS, [], ["1:a b"]),
    ("final replaces partial", [partial(1, "a"), final(1, "a b c")], OPTS, ["1:a b c"], []),
    (
        "final ends older partials too",
        [partial(1, "x"), partial(2, "y"), final(2, "z")],
        OPTS,
        ["2:z"],
        [],
    ),
    ("late partial ignored", [final(3, "c"), partial(3, "late")], OPTS, ["3:c"], []),
    ("partials off", [partial(1, "a")], {"partials": False, "lines": 3}, [], []),
    ("empty partial clears", [partial(1, "a"), partial(1, "")], OPTS, [], []),
    (
        "at most two partials",
        [partial(1, "a"), partial(2, "b"), partial(3, "c")],
        OPTS,
        [],
        ["2:b", "3:c"],
    ),
    (
        "malformed ignored",
        [
            {"type": "final", "segment": -1, "text": "neg"},
            {"type": "final", "segment": 1.5, "text": "float"},
            {"type": "final", "segment": 1, "text": ""},
            {"type": "final", "segment": 1},
            {"type": "mystery", "segment": 1, "text": "x"},
        ],
        OPTS,
        [],
        [],
    ),
]


async def test_pure_functions(page: Page, peer: Peer) -> None:
    await page.goto(f"{peer.base_url}/static/kiosk.css")  # same origin, no kiosk wiring
    results = await page.evaluate(
        """async ([optionCases, reducerCases]) => {
            const r = {...await import('/static/kiosk-model.js'),
                       ...await import('/static/protocol.js')};
            const s = await import('/static/captions-socket.js');
            const options = optionCases.map(([search]) => {
                const warnings = [];
                const opts = r.parseOptions(search, {warn: (m) => warnings.push(m)});
                return [opts, warnings.length];
            });
            const reducer = reducerCases.map(([, messages, opts]) => {
                const state = messages.reduce((st, m) => r.reduce(st, m, opts),
                                              r.initialState('main'));
                return [state.finals.map(f => `${f.segment}:${f.text}`),
                        state.partials.map(p => `${p.segment}:${p.text}`)];
            });
            const st = r.reduce(r.initialState('main'), {type: 'final', segment: 1, text: 'a'},
                                {partials: true, lines: 3});
            const same = r.reduce(st, {type: 'final', segment: 1, text: 'a'},
                                  {partials: true, lines: 3}) === st;
            const reopened = r.withConnection(
                r.reduce(r.withConnection(st, 'open'), {type: 'partial', segment: 2, text: 'b'},
                         {partials: true, lines: 3}),
                'reconnecting');
            return {
                options, reducer, same,
                reopened: [reopened.finals.length, reopened.partials.length],
                delays: Array.from({length: 12}, (_, i) => s.reconnectDelay(i)),
                urls: [
                    s.captionsUrl({protocol: 'http:', host: 'pi:8080'}, 'room-b',
                                  {partials: true, lines: 6}),
                    s.captionsUrl({protocol: 'https:', host: 'cap.example'}, 'main',
                                  {partials: false, lines: 10}),
                    s.captionsUrl({protocol: 'http:', host: 'pi'}, 'main',
                                  {partials: true, lines: 6, token: 'a b&c'}),
                ],
                qr: [r.qrImageUrl('main', null), r.qrImageUrl('room-b', 'a b&c')],
                rooms: ['/kiosk/main', '/kiosk/aula_magna/', '/kiosk/Main', '/kiosk/',
                        '/kiosk/a%2Fb', '/other/main', '/kiosk/' + 'x'.repeat(33)]
                    .map(r.roomFromPath),
                translationFor: [
                    r.translationFor({it: 'ciao'}, 'it'),
                    r.translationFor({'it-IT': 'ciao'}, 'it'),
                    r.translationFor({it: 'ciao'}, 'it-IT'),
                    r.translationFor({de: 'hallo'}, 'it'),
                ],
            };
        }""",
        [OPTION_CASES, REDUCER_CASES],
    )
    for (search, expected, warnings), (got, got_warnings) in zip(
        OPTION_CASES, results["options"], strict=True
    ):
        assert (got, got_warnings) == (expected, warnings), search
    for (name, _, _, finals, partials), got in zip(REDUCER_CASES, results["reducer"], strict=True):
        assert got == [finals, partials], name
    assert results["same"] is True  # an unchanged re-sent final keeps the state object
    assert results["reopened"] == [1, 0]  # leaving "open" drops partials, keeps finals
    assert results["delays"] == [
        *(1000, 1500, 2250, 3375, 5063, 7594, 11391, 17086, 25629),
        *(30000, 30000, 30000),
    ]
    assert results["urls"] == [
        "ws://pi:8080/ws/captions/room-b?backlog=6",
        "wss://cap.example/ws/captions/main?backlog=10&partials=0",
        "ws://pi/ws/captions/main?backlog=6&token=a+b%26c",
    ]
    assert results["qr"] == ["/rooms/main/qr.svg", "/rooms/room-b/qr.svg?token=a+b%26c"]
    assert results["rooms"] == ["main", "aula_magna", None, None, None, None, None]
    assert results["translationFor"] == ["ciao", "ciao", "ciao", None]


async def test_signal_alarm_and_offline_captions_in_the_corner(page: Page, peer: Peer) -> None:
    await open_kiosk(page, peer)
    alarm = page.locator(".corner .alarm")
    mode = page.locator(".corner .mode")
    await expect(alarm).to_be_hidden()
    await expect(mode).to_be_hidden()

    ok = {"rms_dbfs": -24, "peak_dbfs": -6, "clipping": False, "no_signal": False}
    await peer.send({**STATUS_OFFLINE, "signal": ok})
    await expect(alarm).to_be_hidden()

    await peer.send({**STATUS_OFFLINE, "signal": {**ok, "no_signal": True}})
    await expect(alarm).to_have_text("no signal")
    await expect(alarm).to_have_attribute("data-alarm", "no_signal")

    await peer.send({**STATUS_OFFLINE, "signal": {**ok, "clipping": True}, "offline": True})
    await expect(alarm).to_have_text("clipping")
    await expect(mode).to_have_text("offline captions")

    # A recognizer that falls behind real time: a discreet word beside the offline mark.
    await peer.send({**STATUS_OFFLINE, "signal": ok, "offline": True, "behind": True})
    await expect(mode).to_have_text("offline captions · captions delayed")
    await peer.send({**STATUS_OFFLINE, "signal": ok, "offline": False, "behind": True})
    await expect(mode).to_have_text("captions delayed")

    # No source: no alarm about its signal; back on the cloud engine: no offline mark.
    await peer.send({**STATUS_OFFLINE, "audio": "absent", "signal": None, "offline": False})
    await expect(alarm).to_be_hidden()
    await expect(mode).to_be_hidden()


async def test_unstable_words_of_a_partial_are_set_apart(page: Page, peer: Peer) -> None:
    await open_kiosk(page, peer)
    words = [
        {"text": "buongiorno", "stable": True},
        {"text": "a", "stable": True},
        {"text": "tutti", "stable": False},
    ]
    await peer.send({**partial(1, "buongiorno a tutti"), "lang": "it-IT", "words": words})
    line = page.locator('.partial[data-segment="1"]')
    await expect(line.locator(".source")).to_have_text("buongiorno a tutti")
    await expect(line.locator(".word.stable")).to_have_count(2)
    await expect(line.locator(".word.unstable")).to_have_text("tutti")
    # Malformed word lists fall back to the plain text.
    await peer.send({**partial(1, "buongiorno a tutti voi"), "words": [{"stable": True}]})
    await expect(line.locator(".source")).to_have_text("buongiorno a tutti voi")
    await expect(line.locator(".word")).to_have_count(0)

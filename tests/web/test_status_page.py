"""The tech lead's status page and door sign in real Chromium against the real server.

Rooms use the scripted recognizer (tests/helpers/scripted_engine.py: a 0.5 s chunk of samples
equal to n is the word ``w<n>``, zeros are a pause that finalizes), so every caption is known in
advance.
The page polls ``GET /api/status`` every 2 s; settings go through its forms to
``POST /api/rooms/{room}/settings``.

Set ``STATUS_SCREENSHOTS=/tmp/shots`` to keep screenshots of the page (laptop and tablet) and
of the door sign.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect
from websockets.asyncio.client import ClientConnection, connect

from edge_server.core.settings import RoomSettings, ServerSettings
from tests.helpers.live_server import LiveServer, LiveServers, make_settings
from tests.helpers.scripted_engine import CHUNK_BYTES, ScriptedRecognizer, word_audio
from tests.helpers.tiny_disk import TinyDisk
from tests.helpers.wire import HELLO, open_audio, recv_json

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

ADMIN = "admin-" + "A" * 20
LISTENER = "listen-" + "L" * 20
UI_MS = 15000  # bound on every wait for the page (it polls every 2 s)
WAIT_S = 20.0  # bound on every wait for the server
FRAME = 3200  # 100 ms frames, like edge-audio

MEDIABOX = re.compile(rb"/MediaBox\s*\[([0-9.\s]+)\]")

expect.set_options(timeout=UI_MS)

NO_SIGNAL = {
    "type": "level",
    "rms_dbfs": -120.0,
    "peak_dbfs": -120.0,
    "clipping": False,
    "silent_s": 31.0,
    "no_signal": True,
}
CLIPPING = {**NO_SIGNAL, "rms_dbfs": -3.0, "peak_dbfs": 0.0, "clipping": True,
            "silent_s": 0.0, "no_signal": False}  # fmt: skip


class EnglishOnly(ScriptedRecognizer):
    """A scripted recognizer that, like pocketsphinx, only knows en-US."""

    def supported_languages(self) -> frozenset[str] | None:
        return frozenset({"en-US"})


class PrefixTranslator:
    """A deterministic translator: ``w1`` into ``de`` is ``de:w1``."""

    name = "prefix"

    async def translate(self, text: str, source: str, targets: Sequence[str]) -> Mapping[str, str]:
        return {target: f"{target}:{text}" for target in targets}


def recognizer(name: str, _room: RoomSettings, _server: ServerSettings) -> ScriptedRecognizer:
    return EnglishOnly("english-only") if name.startswith("ps") else ScriptedRecognizer("scripted")


def translator(_name: str, room: RoomSettings, _server: ServerSettings) -> PrefixTranslator | None:
    return PrefixTranslator() if room.translator != "none" else None


@pytest.fixture
async def start(tmp_path: Path, live_server: LiveServers) -> Any:
    """Start a server with an admin and a listener token and the given rooms."""

    async def _start(rooms: Mapping[str, RoomSettings]) -> LiveServer:
        settings = make_settings(
            tmp_path / "state",
            admin_token=ADMIN,
            listener_token=LISTENER,
            connect_burst=100000,
            rooms=dict(rooms),
        )
        return await live_server(settings, recognizer, translator_factory=translator)

    return _start


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A laptop-sized browser context whose pages must not throw."""
    context = await browser.new_context(viewport={"width": 1366, "height": 768})
    context.set_default_timeout(UI_MS)
    errors: list[str] = []
    context.on("weberror", lambda error: errors.append(str(error.error)))
    yield context
    await context.close()
    assert errors == [], f"uncaught errors in a page: {errors}"


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


async def status_path(live: LiveServer) -> str:
    """``/status`` once the server serves it, else the page's static file."""
    timeout = aiohttp.ClientTimeout(total=WAIT_S)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(f"{live.http}/status") as response,
    ):
        return "/status" if response.status == 200 else "/static/status.html"


async def open_status(page: Page, live: LiveServer, token: str | None = ADMIN) -> None:
    query = f"?token={token}" if token else ""
    await page.goto(f"{live.http}{await status_path(live)}{query}")


def card(page: Page, room: str) -> Locator:
    return page.locator(f'section.room[data-room="{room}"]')


async def wait_polls(page: Page, count: int) -> None:
    """Wait until the page has had ``count`` more good answers from /api/status."""
    start = await page.evaluate("window.__status.okPolls")
    await page.wait_for_function(f"window.__status.okPolls >= {start + count}", timeout=UI_MS)


async def api_status(live: LiveServer) -> dict[str, Any]:
    timeout = aiohttp.ClientTimeout(total=WAIT_S)
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(f"{live.http}/api/status", headers=headers) as response,
    ):
        assert response.status == 200, await response.text()
        body = await response.json()
        assert isinstance(body, dict)
        return body


async def send_words(ws: ClientConnection, *numbers: int) -> None:
    """Speak ``w<n>`` for each number (0 = a pause), in 100 ms frames."""
    for n in numbers:
        audio = word_audio(n)
        for offset in range(0, CHUNK_BYTES, FRAME):
            await asyncio.wait_for(ws.send(audio[offset : offset + FRAME]), WAIT_S)


@contextlib.asynccontextmanager
async def captions(live: LiveServer, room: str) -> AsyncIterator[ClientConnection]:
    """A captions subscriber (admin token, no backlog) past its first ``status``."""
    url = f"{live.ws}/ws/captions/{room}?token={ADMIN}&backlog=0"
    async with connect(url, open_timeout=10) as ws:
        first = await recv_json(ws)
        assert first["type"] == "status", first
        yield ws


async def next_final(ws: ClientConnection) -> dict[str, Any]:
    """The next ``final`` on a captions socket (partials and status changes skipped)."""
    async with asyncio.timeout(WAIT_S):
        while True:
            message = await recv_json(ws)
            if message["type"] == "final":
                return message


async def shot(page: Page, name: str) -> None:
    folder = os.environ.get("STATUS_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(folder) / name), full_page=True)


async def no_horizontal_scroll(page: Page) -> bool:
    return bool(
        await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    )


async def test_asks_for_the_token_refuses_a_wrong_one_and_lists_rooms(
    start: Any, page: Page
) -> None:
    live = await start({"main": RoomSettings(), "hall": RoomSettings()})

    await open_status(page, live, token=None)
    await expect(page.locator("#token-form")).to_be_visible()
    await expect(page.locator("#token-message")).to_contain_text("needs the admin token")
    await expect(page.locator("#link")).to_have_attribute("data-phase", "token")
    assert await page.locator("section.room").count() == 0

    await open_status(page, live, token="wrong-" + "W" * 20)
    await expect(page.locator("#token-message")).to_contain_text("refused this token")
    await expect(page.locator("#token-form")).to_be_visible()
    assert "token=" not in page.url  # the secret leaves the address bar
    assert await page.locator("section.room").count() == 0

    await page.locator("#token-input").fill(ADMIN)
    await page.locator("#token-form button[type=submit]").click()
    await expect(page.locator("section.room h2")).to_have_text(["hall", "main"])
    await expect(page.locator("#token-form")).to_be_hidden()
    await expect(page.locator("#link")).to_have_attribute("data-phase", "ok")
    await expect(page.locator("#link")).to_contain_text("Live · updated")

    # The token is kept for this tab: a reload needs no typing.
    await page.reload()
    await expect(page.locator("section.room")).to_have_count(2)
    # Forgetting it hides the rooms and asks again.
    await page.locator("#forget-token").click()
    await expect(page.locator("section.room")).to_have_count(0)
    await expect(page.locator("#token-form")).to_be_visible()


async def test_card_shows_the_source_and_the_no_signal_alarm(
    start: Any, page: Page, context: BrowserContext
) -> None:
    live = await start({"main": RoomSettings(), "hall": RoomSettings()})
    await open_status(page, live)
    main = card(page, "main")
    await expect(main.locator("dd.source")).to_have_text("no audio source")
    await expect(main.locator(".alarm")).to_be_hidden()

    hello = {**HELLO, "device": "pipewire:usb-mixer (ch 1)"}
    ws, ready = await open_audio(live.ws, "main", hello)
    try:
        assert ready["type"] == "ready", ready
        await ws.send(json.dumps(NO_SIGNAL))
        await send_words(ws, 1, 0)
        await expect(main.locator("dd.source")).to_contain_text("pytest 0")
        await expect(main.locator("dd.source")).to_contain_text("pipewire:usb-mixer (ch 1)")
        await expect(main.locator("dd.source")).to_contain_text("127.0.0.1")
        alarm = main.locator(".alarm")
        await expect(alarm).to_be_visible()
        await expect(alarm).to_contain_text("NO SIGNAL")
        await expect(main).to_have_attribute("data-alarm", "no_signal")
        await expect(main.locator("dd.signal")).to_contain_text("RMS -120.0 dBFS")
        await expect(card(page, "hall").locator(".alarm")).to_be_hidden()
        await expect(main.locator("dd.finals")).to_have_text("1 final")
        await expect(main.locator("a.kiosk")).to_have_attribute(
            "href", f"/kiosk/main?token={ADMIN}"
        )
        assert await no_horizontal_scroll(page)
        await shot(page, "status-laptop.png")
        tablet = await context.new_page()
        await tablet.set_viewport_size({"width": 820, "height": 1180})
        await open_status(tablet, live)
        await expect(card(tablet, "main").locator(".alarm")).to_contain_text("NO SIGNAL")
        assert await no_horizontal_scroll(tablet)
        await shot(tablet, "status-tablet.png")
        await tablet.close()

        await ws.send(json.dumps(CLIPPING))
        await expect(alarm).to_contain_text("Clipping")
        await expect(main).to_have_attribute("data-alarm", "clipping")
    finally:
        await ws.close()
    await expect(main.locator("dd.source")).to_have_text("no audio source")
    await expect(main.locator(".alarm")).to_be_hidden()


async def test_source_language_changes_live_through_the_form(start: Any, page: Page) -> None:
    live = await start({"main": RoomSettings()})
    await open_status(page, live)
    main = card(page, "main")
    form = main.locator("form.settings")
    source = form.locator("input.source-lang")
    await expect(source).to_have_value("en-US")

    ws, ready = await open_audio(live.ws, "main")
    try:
        assert ready["type"] == "ready", ready
        async with captions(live, "main") as sub:
            await send_words(ws, 1, 2, 0)
            before = await next_final(sub)
            assert (before["text"], before["lang"]) == ("w1 w2", "en-US")

            # What the lead types survives the 2 s refreshes.
            await source.fill("it-IT")
            await expect(form.locator(".edited")).to_be_visible()
            await wait_polls(page, 2)
            await expect(source).to_have_value("it-IT")

            await form.locator("button.apply").click()
            result = form.locator(".result")
            await expect(result).to_have_text(
                "Applied: source it-IT · fixed language · no translation"
            )
            await expect(result).to_have_attribute("data-ok", "true")
            await expect(form.locator(".edited")).to_be_hidden()

            await send_words(ws, 3, 4, 0)
            after = await next_final(sub)
            assert (after["text"], after["lang"]) == ("w3 w4", "it-IT")
        await expect(main.locator("dd.languages")).to_contain_text("speaks it-IT")
        await expect(source).to_have_value("it-IT")
        assert ready["session"] == (await api_status(live))["rooms"]["main"]["source"]["session"]
    finally:
        await ws.close()


async def test_targets_change_through_the_form(start: Any, page: Page) -> None:
    room = RoomSettings(translator="amazon-translate", targets=("it",))
    live = await start({"main": room})
    await open_status(page, live)
    form = card(page, "main").locator("form.settings")
    targets = form.locator("input.targets")
    await expect(targets).to_have_value("it")

    ws, ready = await open_audio(live.ws, "main")
    try:
        assert ready["type"] == "ready", ready
        async with captions(live, "main") as sub:
            await send_words(ws, 1, 0)
            assert (await next_final(sub))["translations"] == {"it": "it:w1"}

            await targets.fill("de, FR")
            await expect(form.locator(".chip")).to_have_text(["de", "fr"])
            await form.locator("button.apply").click()
            await expect(form.locator(".result")).to_have_text(
                "Applied: source en-US · fixed language · translating to de, fr"
            )
            await send_words(ws, 2, 0)
            final = await next_final(sub)
            assert final["text"] == "w2"
            assert final["translations"] == {"de": "de:w2", "fr": "fr:w2"}
        await expect(card(page, "main").locator("dd.languages")).to_contain_text("→ de, fr")
    finally:
        await ws.close()


async def test_refusals_show_the_servers_message_and_keep_the_input(start: Any, page: Page) -> None:
    live = await start({"main": RoomSettings(), "ps": RoomSettings()})
    await open_status(page, live)

    # Not a language code: the page warns while typing, the server's 400 says why.
    form = card(page, "main").locator("form.settings")
    source = form.locator("input.source-lang")
    await source.fill("english")
    await expect(source).to_have_attribute("aria-invalid", "true")
    await expect(form.locator(".source-hint")).to_contain_text("does not look like a language")
    await form.locator("button.apply").click()
    result = form.locator(".result")
    await expect(result).to_have_attribute("data-ok", "false")
    await expect(result).to_contain_text("Invalid (invalid_setting)")
    await expect(result).to_contain_text("invalid language code 'english'")
    await wait_polls(page, 2)
    await expect(source).to_have_value("english")
    await expect(result).to_contain_text("invalid language code 'english'")

    # A room that only knows en-US offers a select; another language gets the server's 409.
    ps = card(page, "ps").locator("form.settings")
    select = ps.locator("select.source-lang")
    await expect(select).to_be_visible()
    await expect(ps.locator("input.source-lang")).to_be_hidden()
    await expect(select).to_have_value("en-US")
    await select.select_option("__other__")
    await ps.locator("input.source-lang").fill("it-IT")
    await ps.locator("button.apply").click()
    await expect(ps.locator(".result")).to_contain_text("Not possible (unsupported)")
    await expect(ps.locator(".result")).to_contain_text("supports en-US, not it-IT")
    # Targets in a room without a translator: 409 too.
    await ps.locator("input.source-lang").fill("en-US")
    await ps.locator("input.targets").fill("de")
    await expect(ps.locator(".targets-hint")).to_contain_text("no translator")
    await ps.locator("button.apply").click()
    await expect(ps.locator(".result")).to_contain_text("no translator")
    await expect(ps.locator("input.targets")).to_have_value("de")
    # Nothing was changed by the refusals.
    rooms = (await api_status(live))["rooms"]
    assert [rooms[r]["source_lang"] for r in ("main", "ps")] == ["en-US", "en-US"]
    assert rooms["ps"]["targets"] == []


async def test_door_sign_shows_the_qr_code_and_the_listener_address(
    start: Any, page: Page, context: BrowserContext
) -> None:
    import zxingcpp
    from PIL import Image

    live = await start({"main": RoomSettings()})
    listen_url = (await api_status(live))["rooms"]["main"]["listen_url"]
    assert f"/listen/main?token={LISTENER}" in listen_url

    await open_status(page, live)
    async with context.expect_page() as opened:
        await card(page, "main").locator("a.door").click()
    door = await opened.value
    await door.set_viewport_size({"width": 900, "height": 1200})
    await door.wait_for_load_state()
    await expect(door.locator(".room-name")).to_have_text("main")
    await expect(door.locator(".listen-url")).to_have_text(listen_url)
    await expect(door.locator(".call")).to_have_text(
        "Follow the talk on your phone in your language"
    )
    qr = door.locator("img.qr")
    await expect(qr).to_have_attribute("src", f"/rooms/main/qr.svg?token={ADMIN}")
    await door.wait_for_function(
        "document.querySelector('img.qr').complete && "
        "document.querySelector('img.qr').naturalWidth > 0",
        timeout=UI_MS,
    )
    assert "token=" not in door.url  # nor in a printed header
    # The code on the sign is the address printed under it.
    png = await qr.screenshot()
    decoded = [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
    assert decoded == [listen_url]
    await shot(door, "status-door.png")
    await door.emulate_media(media="print")
    await expect(door.locator(".toolbar")).to_be_hidden()
    # It prints on exactly one A4 portrait sheet (595 x 842 points).
    pdf = await door.pdf(prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == 1
    boxes = {tuple(round(float(v)) for v in box.split()) for box in MEDIABOX.findall(pdf)}
    assert boxes == {(0, 0, 595, 842)}


async def test_unreachable_server_is_shown_and_the_page_recovers(start: Any, page: Page) -> None:
    live = await start({"main": RoomSettings()})
    await open_status(page, live)
    await expect(card(page, "main")).to_be_visible()
    link = page.locator("#link")
    await expect(link).to_have_attribute("data-phase", "ok")

    # The network fails: the page says since when, backs off, and keeps the last data.
    await page.route("**/api/status", lambda route: route.abort("connectionrefused"))
    await expect(link).to_have_attribute("data-phase", "unreachable")
    await expect(link).to_contain_text("Server unreachable since")
    await expect(link).to_contain_text("retrying in")
    await page.wait_for_function("window.__status.failures >= 3", timeout=UI_MS)
    delay = await page.evaluate("window.__status.link.nextPollMs")
    assert delay > 2000  # backing off (1 s x 1.5 per failure, at least 2 s)
    await expect(card(page, "main")).to_be_visible()

    await page.unroute("**/api/status")
    await expect(link).to_have_attribute("data-phase", "ok", timeout=30000)
    await expect(link).to_contain_text("Live · updated")
    assert await page.evaluate("window.__status.failures") == 0


async def test_automatic_identification_through_the_form(start: Any, page: Page) -> None:
    # A transcribe room (its recognizer replaced by the scripted one) can identify languages.
    live = await start({"main": RoomSettings(engine="transcribe")})
    await open_status(page, live)
    form = card(page, "main").locator("form.settings")
    auto = form.locator("input.auto")
    languages = form.locator("input.languages")
    await expect(auto).to_be_enabled()
    await expect(languages).to_be_disabled()

    await auto.check()
    await expect(languages).to_be_enabled()
    await languages.fill("it-IT, en-US")
    await form.locator("button.apply").click()
    # en-US, the spoken language, is in the list: it stays the preferred one.
    await expect(form.locator(".result")).to_have_text(
        "Applied: source en-US · identifying it-IT, en-US · no translation"
    )
    await expect(card(page, "main").locator("dd.languages")).to_contain_text(
        "identifying it-IT / en-US"
    )
    await expect(form.locator("input.source-lang")).to_have_value("en-US")
    room = (await api_status(live))["rooms"]["main"]
    assert room["languages"] == ["it-IT", "en-US"]

    await auto.uncheck()
    await form.locator("button.apply").click()
    await expect(form.locator(".result")).to_have_text(
        "Applied: source en-US · fixed language · no translation"
    )
    assert (await api_status(live))["rooms"]["main"]["languages"] == []


async def test_a_disk_that_refuses_the_transcript_is_an_alarm_until_it_takes_it_again(
    tiny_disk: TinyDisk, live_server: LiveServers, page: Page
) -> None:
    """The state folder on a 512 KiB tmpfs, remounted read-only mid-talk (what the kernel does
    to an SD card after an I/O error), then read-write again."""
    settings = make_settings(
        tiny_disk.mountpoint / "state",
        admin_token=ADMIN,
        listener_token=LISTENER,
        connect_burst=100000,
        rooms={"main": RoomSettings()},
        fsync=True,
        min_free_mb=0,
    )
    live = await live_server(settings, recognizer, translator_factory=translator)
    await open_status(page, live)
    main = card(page, "main")
    alarm = main.locator(".storage-alarm")
    await expect(main.locator("dd.storage")).to_contain_text("saved on disk")
    await expect(alarm).to_be_hidden()

    ws, ready = await open_audio(live.ws, "main")
    try:
        assert ready["type"] == "ready", ready
        async with captions(live, "main") as sub:
            await send_words(ws, 1, 0)
            assert "unsaved" not in await next_final(sub)
            tiny_disk.remount("ro")
            await send_words(ws, 2, 0)
            refused = await next_final(sub)
            assert (refused["text"], refused["unsaved"]) == ("w2", True)

            await expect(alarm).to_be_visible()
            await expect(alarm).to_contain_text("TRANSCRIPT NOT SAVED — EROFS")
            await expect(alarm).to_contain_text("1 caption held in memory (at most 5000)")
            await expect(main).to_have_attribute("data-storage", "failing")
            await expect(main.locator("dd.storage")).to_contain_text("NOT SAVED: 1 caption held")
            await expect(main.locator(".alarm")).to_be_hidden()  # the signal is fine
            await shot(page, "status-storage-alarm.png")

            tiny_disk.remount("rw")
            await send_words(ws, 3, 0)
            assert "unsaved" not in await next_final(sub)
            await expect(alarm).to_be_hidden()
            await expect(main).to_have_attribute("data-storage", "ok")
            await expect(main.locator("dd.storage")).to_contain_text("last problem EROFS")
    finally:
        await ws.close()
    transcript = tiny_disk.mountpoint / "state" / "rooms" / "main" / "transcript.jsonl"
    lines = transcript.read_text().splitlines()
    assert [json.loads(line)["text"] for line in lines] == ["w1", "w2", "w3"]

"""The kiosk's corner QR code in real Chromium against the real server: it is shown, it decodes
(with a real QR decoder, zxing-cpp) to the phone page's link with the listener token, it keeps
clear of the captions, and ``qr=0`` or the "q" key hide it.

Set ``KIOSK_QR_SCREENSHOT=/some/file.png`` to keep the 1920x1080 screenshot.
"""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import PIL.Image
import pytest
import zxingcpp
from playwright.async_api import Browser, Page, expect

from tests.helpers.live_server import LiveServer, LiveServers, make_settings
from tests.helpers.scripted_engine import ScriptedRecognizer, word_audio
from tests.helpers.wire import open_audio

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

UI_WAIT_MS = 15000  # milliseconds: bound on every Playwright wait
LISTENER_TOKEN = "L" * 20
ADMIN_TOKEN = "A" * 20
FRAME_BYTES = 6400

expect.set_options(timeout=UI_WAIT_MS)


@pytest.fixture
async def server(tmp_path: Path, live_server: LiveServers) -> LiveServer:
    """A server whose reading endpoints need the listener (or admin) token."""
    settings = make_settings(
        tmp_path / "state",
        listener_token=LISTENER_TOKEN,
        admin_token=ADMIN_TOKEN,
        connect_burst=100000,
    )
    return await live_server(
        settings, recognizer_factory=lambda name, room, server: ScriptedRecognizer("scripted")
    )


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1920, "height": 1080})
    page = await context.new_page()
    page.set_default_timeout(UI_WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    await context.close()
    assert errors == []


async def open_kiosk(page: Page, server: LiveServer, query: str) -> None:
    await page.goto(f"{server.http}/kiosk/main{query}")
    await expect(page.locator("body")).to_have_attribute("data-connection", "open")


def decode(png: bytes) -> list[str]:
    """The texts of the QR codes in a PNG screenshot."""
    image = PIL.Image.open(io.BytesIO(png))
    return [result.text for result in zxingcpp.read_barcodes(image)]


async def captions_right_edge(page: Page) -> dict[str, Any]:
    box: dict[str, Any] = await page.evaluate(
        """() => {
            const qr = document.querySelector('.qr').getBoundingClientRect();
            const lines = [...document.querySelectorAll('.captions .line p')]
                .map((p) => {
                    const range = document.createRange();
                    range.selectNodeContents(p);
                    return Math.max(...[...range.getClientRects()].map((r) => r.right));
                });
            return {qrLeft: qr.left, qrBottom: qr.bottom, linesRight: Math.max(0, ...lines)};
        }"""
    )
    return box


async def test_kiosk_qr_decodes_to_the_listener_link(page: Page, server: LiveServer) -> None:
    await open_kiosk(page, server, f"?token={LISTENER_TOKEN}")
    qr = page.locator(".qr")
    await expect(qr).to_be_visible()
    image = qr.locator("img")
    await expect(image).to_have_attribute("src", f"/rooms/main/qr.svg?token={LISTENER_TOKEN}")
    await page.wait_for_function(
        "document.querySelector('.qr img').complete "
        "&& document.querySelector('.qr img').naturalWidth > 0"
    )
    png = await qr.locator(".qr-frame").screenshot()
    assert decode(png) == [f"{server.http}/listen/main?token={LISTENER_TOKEN}"]

    # Long captions wrap before the code's column: it never covers a line.
    ws, ready = await open_audio(server.ws, "main")
    assert ready["type"] == "ready", ready
    words = b"".join(word_audio(n) for n in (*range(1000, 1040), 0))
    for at in range(0, len(words), FRAME_BYTES):
        await ws.send(words[at : at + FRAME_BYTES])
    await expect(page.locator(".captions .final")).to_have_count(1)
    box = await captions_right_edge(page)
    assert box["linesRight"] > 1000  # the line is long enough to reach the right side
    assert box["linesRight"] <= box["qrLeft"]
    await ws.close()

    shot = await page.screenshot()
    if target := os.environ.get("KIOSK_QR_SCREENSHOT"):
        Path(target).write_bytes(shot)
    # The whole screen still decodes: the code is big enough and has its quiet zone.
    assert decode(shot) == [f"{server.http}/listen/main?token={LISTENER_TOKEN}"]

    # "q" hides it and gives the captions the full width; "q" again brings it back.
    await page.keyboard.press("q")
    await expect(qr).to_be_hidden()
    await expect(page.locator("#kiosk")).to_have_attribute("data-qr", "0")
    assert decode(await page.screenshot()) == []
    await page.keyboard.press("q")
    await expect(qr).to_be_visible()


async def test_qr_0_hides_the_code(page: Page, server: LiveServer) -> None:
    await open_kiosk(page, server, f"?token={LISTENER_TOKEN}&qr=0")
    await expect(page.locator(".qr")).to_be_hidden()
    await expect(page.locator("#kiosk")).to_have_attribute("data-qr", "0")
    padding = await page.locator(".captions").evaluate("n => getComputedStyle(n).paddingRight")
    assert float(padding.removesuffix("px")) == pytest.approx(0.05 * 1920, abs=1)
    assert decode(await page.screenshot()) == []


async def test_refused_code_is_hidden_not_broken(page: Page, server: LiveServer) -> None:
    """Without the token the image request is refused (403): the corner stays empty and the
    captions keep their width (the captions socket itself is refused too)."""
    await page.goto(f"{server.http}/kiosk/main?token=not-the-listener-token")
    qr = page.locator(".qr")
    await expect(qr).to_have_attribute("data-failed", "1")
    await expect(qr).to_be_hidden()

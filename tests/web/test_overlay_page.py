"""The livestream overlay (/overlay/{room}) in real Chromium against the real server: a
transparent page (a screenshot over a coloured page shows the colour around the text), the last
lines in the chosen language, options from the query, and the listener token rules."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.async_api import Browser, expect
from websockets.asyncio.client import ClientConnection

from edge_server.core.settings import RoomSettings
from tests.helpers.live_server import LiveServer, LiveServers, make_settings
from tests.helpers.scripted_engine import PrefixTranslator, ScriptedRecognizer, word_audio
from tests.helpers.wire import open_audio

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

UI_MS = 15000
LISTENER = "listen-" + "L" * 20
GREEN = (0, 200, 0)


async def start(live_server: LiveServers, tmp_path: Path) -> LiveServer:
    recognizer = ScriptedRecognizer("scripted")
    settings = make_settings(
        tmp_path,
        max_frame_bytes=16000,
        listener_token=LISTENER,  # the audio uplink stays open here
        default_room=RoomSettings(targets=("it",)),
    )
    return await live_server(
        settings,
        recognizer_factory=lambda name, r, s: recognizer,
        translator_factory=lambda name, r, s: PrefixTranslator(),
    )


async def speak(audio: ClientConnection, *words: int) -> None:
    for n in [*words, 0]:
        await audio.send(word_audio(n))


def pixel(png: bytes, x: int, y: int) -> tuple[int, ...]:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    value: Any = image.getpixel((x, y))
    return tuple(value)


async def test_the_overlay_is_transparent_and_shows_the_last_lines(
    tmp_path: Path, live_server: LiveServers, browser: Browser
) -> None:
    server = await start(live_server, tmp_path)
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    url = f"{server.http}/overlay/main?token={LISTENER}&lang=it&lines=2&size=1.5&color=ffff00"
    try:
        # OBS composites the page over the picture: here, over a green page.
        await page.set_content(
            f'<body style="margin:0;background:rgb{GREEN}">'
            f'<iframe src="{url}" style="border:0;width:1280px;height:720px"></iframe></body>'
        )
        frame = page.frame_locator("iframe")
        await expect(frame.locator("body")).to_have_attribute(
            "data-connection", "open", timeout=UI_MS
        )
        audio, ready = await open_audio(server.ws, "main")
        assert ready["type"] == "ready", ready
        await speak(audio, 1, 2)
        await expect(frame.locator(".line").last).to_have_text("it w1 w2", timeout=UI_MS)
        await speak(audio, 3)
        await speak(audio, 4, 5)
        lines = frame.locator(".line")
        await expect(lines).to_have_text(["it w3", "it w4 w5"], timeout=UI_MS)  # the last two
        await expect(lines.last).to_have_css("color", "rgb(255, 255, 0)")
        await audio.close()
        png = await page.screenshot()
        shot = os.environ.get("OVERLAY_SCREENSHOT")
        if shot:
            Path(shot).write_bytes(png)
        # Away from the text, the page below shows through: the overlay has no background.
        for x, y in ((10, 10), (640, 100), (1270, 400), (10, 710)):
            assert pixel(png, x, y) == GREEN, (x, y)
        box = await lines.last.bounding_box()
        assert box is not None
        assert box["y"] > 720 / 2  # at the bottom by default
        inside = pixel(png, int(box["x"] + 4), int(box["y"] + 4))
        assert inside != GREEN  # the text's own box is drawn
        # No QR code and no status corner on a stream.
        assert await frame.locator("img, .corner, .qr").count() == 0
    finally:
        await context.close()
    assert errors == []


async def test_the_overlay_needs_the_listener_token_and_takes_it_out_of_the_address(
    tmp_path: Path, live_server: LiveServers, browser: Browser
) -> None:
    server = await start(live_server, tmp_path)
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await page.goto(f"{server.http}/overlay/main?position=top&bg=none&lines=7")
        await page.wait_for_function(
            "() => window.__overlay && window.__overlay.state.refused !== null", timeout=UI_MS
        )
        assert await page.locator(".line").count() == 0
        await page.goto(f"{server.http}/overlay/main?token={LISTENER}&position=top&bg=none")
        await expect(page.locator("body")).to_have_attribute("data-connection", "open")
        assert "token" not in page.url
        assert await page.evaluate("window.__overlay.options.lines") == 2
        await expect(page.locator("body")).to_have_attribute("data-position", "top")
        await expect(page.locator("body")).to_have_attribute("data-box", "none")
    finally:
        await context.close()

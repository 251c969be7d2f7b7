"""The livestream overlay served by a conference hub, in real Chromium: a room replicates to a
real redis-server, the hub serves ``/overlay/{room}`` (the room server's page, unchanged) fed by
its own ``/ws/captions/{room}``; over a coloured page the colour shows through everywhere but
behind the text, the last lines are the room's finals in the chosen language, and the hub's
listener token rules apply."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.async_api import Browser, expect

from edge_server.core.settings import RoomSettings
from tests.helpers.hub import LiveHub
from tests.helpers.live_server import LiveServer, LiveServers, make_settings
from tests.helpers.redis_server import RedisServer
from tests.helpers.scripted_engine import PrefixTranslator, ScriptedRecognizer, word_audio
from tests.helpers.wire import open_audio

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]
UI_MS = 20000
LISTENER = "hub-listen-" + "H" * 20
MAGENTA = (200, 0, 200)


@pytest.fixture
async def conference(
    redis_server: RedisServer, tmp_path: Path, live_server: LiveServers
) -> AsyncIterator[tuple[LiveServer, LiveHub]]:
    """A room server replicating room ``main``, and a hub with a listener token."""
    settings = make_settings(
        tmp_path / "state",
        replicate_to=redis_server.url,
        max_frame_bytes=16000,
        default_room=RoomSettings(targets=("it",)),
    )
    room = await live_server(
        settings,
        recognizer_factory=lambda name, r, s: ScriptedRecognizer("scripted"),
        translator_factory=lambda name, r, s: PrefixTranslator(),
    )
    hub_settings = make_settings(tmp_path / "unused", listener_token=LISTENER)
    hub = await LiveHub(hub_settings, redis_server.url).start()
    yield room, hub
    await hub.stop()


def pixel(png: bytes, x: int, y: int) -> tuple[int, ...]:
    value: Any = Image.open(io.BytesIO(png)).convert("RGB").getpixel((x, y))
    return tuple(value)


async def test_the_overlay_from_a_hub_shows_a_final_replicated_from_the_room(
    conference: tuple[LiveServer, LiveHub], browser: Browser
) -> None:
    room, hub = conference
    audio, _ = await open_audio(room.ws, "main")
    for n in (1, 0):  # the room replicates before the overlay connects
        await audio.send(word_audio(n))
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    url = f"{hub.http}/overlay/main?token={LISTENER}&lang=it&lines=2&color=00ffff"
    try:
        await page.set_content(
            f'<body style="margin:0;background:rgb{MAGENTA}">'
            f'<iframe src="{url}" style="border:0;width:1280px;height:720px"></iframe></body>'
        )
        frame = page.frame_locator("iframe")
        await expect(frame.locator("body")).to_have_attribute(
            "data-connection", "open", timeout=UI_MS
        )
        for n in (2, 3, 0, 4, 0):
            await audio.send(word_audio(n))
        lines = frame.locator(".line")
        await expect(lines).to_have_text(["it w2 w3", "it w4"], timeout=UI_MS)
        await expect(lines.last).to_have_css("color", "rgb(0, 255, 255)")
        png = await page.screenshot()
        shot = os.environ.get("HUB_OVERLAY_SCREENSHOT")
        if shot:
            Path(shot).write_bytes(png)
        for x, y in ((10, 10), (640, 100), (1270, 400), (10, 710)):
            assert pixel(png, x, y) == MAGENTA, (x, y)
        box = await lines.last.bounding_box()
        assert box is not None
        assert box["y"] > 720 / 2
        assert pixel(png, int(box["x"] + 4), int(box["y"] + 4)) != MAGENTA
        assert await frame.locator("img, .corner, .qr").count() == 0
    finally:
        await context.close()
        await audio.close()
    assert errors == []


async def test_the_hub_s_overlay_needs_the_listener_token(
    conference: tuple[LiveServer, LiveHub], browser: Browser
) -> None:
    room, hub = conference
    audio, _ = await open_audio(room.ws, "main")
    for n in (1, 0):
        await audio.send(word_audio(n))
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await page.goto(f"{hub.http}/overlay/main?position=top&bg=none")
        await page.wait_for_function(
            "() => window.__overlay && window.__overlay.state.refused !== null", timeout=UI_MS
        )
        assert await page.locator(".line").count() == 0
        await page.goto(f"{hub.http}/overlay/main?token={LISTENER}&position=top&bg=none")
        await expect(page.locator("body")).to_have_attribute(
            "data-connection", "open", timeout=UI_MS
        )
        assert "token" not in page.url
        await expect(page.locator("body")).to_have_attribute("data-position", "top")
        response = await page.goto(f"{hub.http}/overlay/bad%20room")
        assert response is not None
        assert response.status == 400
    finally:
        await context.close()
        await audio.close()

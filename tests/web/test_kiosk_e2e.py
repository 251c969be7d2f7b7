"""The kiosk page in real Chromium, fed by the real server and recognizer."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.helpers.live_server import LiveServer
from tests.helpers.processes import EDGE_AUDIO

pytestmark = [pytest.mark.browser, pytest.mark.speech, pytest.mark.timeout(90)]


async def test_kiosk_shows_a_final_caption_from_the_server(
    server: LiveServer, browser: Browser, librivox_files: list[tuple[Path, str]]
) -> None:
    context = await browser.new_context(viewport={"width": 1920, "height": 1080})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        await page.goto(f"{server.http}/kiosk/main?lang=it")
        await expect(page.locator("body")).to_have_attribute(
            "data-connection", "open", timeout=10000
        )
        proc = await asyncio.create_subprocess_exec(
            *EDGE_AUDIO, "stream-file", str(librivox_files[1][0]), "--server", server.http,
            "--room", "main", "--lang", "en-US", "--speed", "2", "--quiet",
        )  # fmt: skip
        assert await asyncio.wait_for(proc.wait(), 60) == 0
        line = page.locator(".captions .final .source").last
        await expect(line).to_contain_text("young man", timeout=15000)
        # Translation was asked for but the offline engine has none: the page says so.
        await expect(page.locator("body")).to_contain_text("Translation unavailable offline")
        shot = os.environ.get("KIOSK_E2E_SCREENSHOT")
        if shot:
            await page.screenshot(path=shot)
    finally:
        await context.close()
    assert errors == []

"""Debian's Chromium for Playwright (never a downloaded browser), how it is started, and a blank
page to import the pages' modules into."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from playwright.async_api import Browser, Page

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    # As root in a container, and on a machine whose network is closed.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.asynccontextmanager
async def blank_page(
    browser: Browser, origin: str, main_id: str, **context_options: Any
) -> AsyncIterator[Page]:
    """A blank page on ``origin`` (a static file of a real server: same origin, so the page
    modules are importable, but no page wiring runs) holding ``<main id=main_id>``.

    An uncaught error in the page fails the test when the block ends.
    """
    context = await browser.new_context(**context_options)
    page = await context.new_page()
    page.set_default_timeout(5000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        await page.goto(f"{origin}/static/kiosk.css")
        await page.set_content(f"<main id='{main_id}'></main>")
        yield page
    finally:
        await context.close()
    assert errors == []

"""The kiosk page in a real Chromium (Debian's, through Playwright, headless, as tests/web does),
watched for caption text: each time a partial or final line's text changes, the page's own
clock (``Date.now()``) and the new text are recorded by a ``MutationObserver`` installed
before the page's scripts run. :meth:`KioskWatch.shown` hands them over as
:class:`~bench.lib.wordtiming.Shown` records (wall-clock seconds, the same clock as
``time.time()`` in this process).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from bench.lib.wordtiming import Shown
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS

RECORDER = """
(() => {
  const events = [];
  const last = new Map();
  window.__voiceScreen = events;
  const scan = () => {
    const now = Date.now();
    for (const line of document.querySelectorAll("#kiosk .captions > .line")) {
      const kind = line.classList.contains("final") ? "final"
        : line.classList.contains("partial") ? "partial" : null;
      if (kind === null) continue;
      const source = line.querySelector(".source");
      const text = source === null ? "" : source.textContent;
      const key = kind + ":" + line.dataset.segment;
      if (last.get(key) !== text) {
        last.set(key, text);
        events.push({ at: now, kind, segment: Number(line.dataset.segment), text });
      }
    }
  };
  const start = () => {
    new MutationObserver(scan).observe(document.body,
      { subtree: true, childList: true, characterData: true });
    scan();
  };
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
"""


class KioskWatch:
    """One kiosk page being watched."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []

    async def count(self) -> int:
        """How many changes were recorded so far."""
        found: int = await self.page.evaluate("window.__voiceScreen.length")
        return found

    async def shown(self) -> list[Shown]:
        """Every change recorded so far."""
        raw = await self.page.evaluate("window.__voiceScreen")
        return [Shown(e["at"] / 1000.0, e["kind"], int(e["segment"]), e["text"]) for e in raw]

    async def quiet(self, quiet_s: float, limit_s: float) -> bool:
        """Wait until nothing changed for ``quiet_s`` (True) or ``limit_s`` passed (False)."""
        deadline = time.monotonic() + limit_s
        seen, since = await self.count(), time.monotonic()
        while time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            now = await self.count()
            if now != seen:
                seen, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return True
        return False


@contextlib.asynccontextmanager
async def kiosk(port: int, room: str) -> AsyncIterator[KioskWatch]:
    """The kiosk of ``room`` (no QR code) open and connected in a headless Chromium."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = await browser.new_context(viewport={"width": 1920, "height": 1080})
            await context.add_init_script(RECORDER)
            page = await context.new_page()
            watch = KioskWatch(page)
            page.on("pageerror", lambda error: watch.errors.append(str(error)))
            await page.goto(f"http://127.0.0.1:{port}/kiosk/{room}?qr=0")
            await page.wait_for_function(
                "document.body.dataset.connection === 'open'", timeout=30000
            )
            yield watch
        finally:
            await browser.close()

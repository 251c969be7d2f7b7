"""A kiosk whose listener token the server refuses (after a rotation), in real Chromium against
a real server: the monitor says so in words, the server remembers the refusal, and the status
page lists the kiosk. The same kiosk with the right token is live again.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, Page, expect

from edge_server.core.refusals import RecentRefusals, client_kind
from tests.helpers.live_server import LiveServer, LiveServers, make_settings

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

LISTENER = "listener-" + "L" * 24
ADMIN = "admin-" + "A" * 24
OLD_TOKEN = "old-listener-" + "O" * 20
UI_WAIT_MS = 15000


@pytest.fixture
async def server(tmp_path: Path, live_server: LiveServers) -> LiveServer:
    settings = make_settings(
        tmp_path / "state", listener_token=LISTENER, admin_token=ADMIN, connect_burst=100000
    )
    return await live_server(settings)


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


async def _api_status(server: LiveServer) -> dict[str, object]:
    """GET /api/status with the admin token (the server runs on this test's event loop)."""
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
        session.get(
            f"{server.http}/api/status", headers={"Authorization": f"Bearer {ADMIN}"}
        ) as answer,
    ):
        result: dict[str, object] = await answer.json()
    return result


async def test_refused_kiosk_says_so_and_the_status_page_lists_it(
    page: Page, browser: Browser, server: LiveServer, tmp_path: Path
) -> None:
    await page.goto(f"{server.http}/kiosk/main?lang=it&token={OLD_TOKEN}")
    refusal = page.locator(".refusal")
    await expect(refusal).to_be_visible()
    await expect(refusal.locator(".title")).to_have_text("Captions unavailable: access refused")
    await expect(refusal.locator(".detail")).to_contain_text(
        "does not accept this kiosk's access token (4011)"
    )
    await expect(refusal.locator(".hint")).to_contain_text("--tags secrets")
    await expect(page.locator(".banner")).to_have_text("Access refused")  # not "Reconnecting…"
    await expect(page.locator("#kiosk")).to_have_attribute("data-refused", "token_wrong")
    assert "token=" not in page.url, "the token leaves the address bar"
    # Still alive for the watchdog: a refused token is not a frozen screen.
    beat = await page.evaluate("window.__edgeKioskBeat")
    assert beat["page"] == "kiosk"
    assert beat["connection"] == "refused"
    await page.screenshot(path=str(tmp_path / "refused.png"))

    # The server remembers it, as a kiosk.
    refused = (await _api_status(server))["refused"]
    assert isinstance(refused, list)
    assert [(e["room"], e["client"], e["reason"], e["address"]) for e in refused] == [
        ("main", "kiosk", "token_wrong", "127.0.0.1")
    ]
    assert OLD_TOKEN not in json.dumps(refused)

    # The status page shows it above the rooms.
    status = await browser.new_page()
    try:
        await status.goto(f"{server.http}/status?token={ADMIN}")
        item = status.locator("#refused li")
        await expect(item).to_have_count(1, timeout=UI_WAIT_MS)
        await expect(item).to_contain_text("Kiosk 127.0.0.1 (room main): wrong token")
        await expect(status.locator("#refused")).to_contain_text("--tags secrets")
    finally:
        await status.close()

    # With the rotated token the same screen is live again and the panel is gone.
    await page.goto(f"{server.http}/kiosk/main?lang=it&token={LISTENER}")
    await expect(page.locator("body")).to_have_attribute("data-connection", "open")
    await expect(refusal).to_be_hidden()
    await expect(page.locator(".banner")).to_be_hidden()


async def test_a_refused_phone_is_listed_as_a_phone(
    page: Page, browser: Browser, server: LiveServer
) -> None:
    """The listener page says what it is (``client=listener``), so a phone with an old QR code
    is told apart from a kiosk on the status page."""
    await page.goto(f"{server.http}/listen/main?token={OLD_TOKEN}")
    app = page.locator('[data-part="app"]')
    await expect(app).to_have_attribute("data-connection", "refused")
    refused = (await _api_status(server))["refused"]
    assert isinstance(refused, list)
    assert [(e["room"], e["client"], e["reason"]) for e in refused] == [
        ("main", "listener", "token_wrong")
    ]
    status = await browser.new_page()
    try:
        await status.goto(f"{server.http}/status?token={ADMIN}")
        await expect(status.locator("#refused li")).to_contain_text(
            "Phone 127.0.0.1 (room main): wrong token", timeout=UI_WAIT_MS
        )
    finally:
        await status.close()


def test_refusals_are_bounded_counted_and_forgotten() -> None:
    refusals = RecentRefusals(max_entries=2, keep_s=100)
    refusals.record("10.0.0.1", "a", "kiosk", "token_wrong", now=0)
    refusals.record("10.0.0.1", "a", "kiosk", "token_wrong", now=5)
    refusals.record("10.0.0.2", "a", "<script>", "token_missing", now=6)
    (latest, first) = refusals.recent(now=10)
    assert (first.address, first.count, first.first_at, first.last_at) == ("10.0.0.1", 2, 0, 5)
    assert latest.client == "unknown"  # never the raw value
    refusals.record("10.0.0.3", "b", "listener", "token_wrong", now=7)
    assert [e.address for e in refusals.recent(now=10)] == ["10.0.0.3", "10.0.0.2"]
    assert refusals.recent(now=200) == []
    assert client_kind("kiosk") == "kiosk"
    assert client_kind(None) == "unknown"

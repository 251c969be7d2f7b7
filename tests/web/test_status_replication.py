"""A room server whose Redis refuses it at start (a wrong password) or cannot be reached, in real
Chromium: the room's card on the status page says REPLICATION FAILING with the reason and the
redacted address (never the password), the log says it too, and the room captions normally;
once a room replicates, the card's "Replication" line says so and the alarm is gone."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.helpers.live_server import LiveServer, LiveServers, make_settings
from tests.helpers.redis_server import RedisServer, free_port
from tests.helpers.scripted_engine import ScriptedRecognizer, captions_normally

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]
ADMIN = "admin-" + "R" * 20
UI_MS = 30000  # the page polls every 2 s; the replicator's first failure comes within seconds


async def start_room(live_server: LiveServers, state: Path, url: str) -> LiveServer:
    settings = make_settings(state, replicate_to=url, max_frame_bytes=16000, admin_token=ADMIN)
    return await live_server(
        settings, recognizer_factory=lambda name, r, s: ScriptedRecognizer("scripted")
    )


@pytest.mark.parametrize("case", ["wrong password", "unreachable"])
async def test_a_bad_redis_at_start_is_an_alarm_on_the_room_s_card_and_in_the_log(
    tmp_path: Path,
    live_server: LiveServers,
    redis_server: RedisServer,
    browser: Browser,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    if case == "wrong password":
        url, secret = redis_server.url_with("not-the-password-42"), "not-the-password-42"
        reason = "wrong password or user refused by Redis"
    else:
        url, secret = f"redis://:closed-pw-42@127.0.0.1:{free_port()}/0", "closed-pw-42"
        reason = "cannot reach Redis"
    caplog.set_level(logging.INFO)
    live = await start_room(live_server, tmp_path / "state", url)
    await captions_normally(live.ws)
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await page.goto(f"{live.http}/status?token={ADMIN}")
        card = page.locator('section.room[data-room="main"]')
        alarm = card.locator(".replication-alarm")
        await expect(alarm).to_be_visible(timeout=UI_MS)
        await expect(alarm).to_contain_text(f"REPLICATION FAILING — {reason}")
        await expect(alarm).to_contain_text("redis://:***@127.0.0.1")
        await expect(alarm).to_contain_text("Captions in the room are not affected")
        await expect(card).to_have_attribute("data-replication", "failing")
        await expect(card.locator("dd.replication")).to_contain_text("FAILING to redis://:***@")
        assert secret not in await page.content()
    finally:
        await context.close()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"REPLICATION FAILING: {reason}" in logged
    assert secret not in logged


async def test_a_replicating_room_says_so_without_an_alarm(
    tmp_path: Path, live_server: LiveServers, redis_server: RedisServer, browser: Browser
) -> None:
    live = await start_room(live_server, tmp_path / "state", redis_server.url)
    await captions_normally(live.ws)
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await page.goto(f"{live.http}/status?token={ADMIN}")
        card = page.locator('section.room[data-room="main"]')
        await expect(card).to_have_attribute("data-replication", "ok", timeout=UI_MS)
        await expect(card.locator("dd.replication")).to_contain_text("up to date", timeout=UI_MS)
        await expect(card.locator(".replication-alarm")).to_be_hidden()
        assert redis_server.password not in await page.content()
    finally:
        await context.close()

"""The talk on every screen, in real Chromium against the real server with a real schedule file
whose talks are seconds long: the kiosk says "Next: …" before the first, then its title and
speakers, then the next talk's at its start; the listener page, the status page and the door
sign show it too; the status page shows a schedule that cannot be read."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from edge_server.core.settings import RoomSettings
from tests.helpers.live_server import LiveServers, make_settings

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

UI_MS = 20000  # bound on every wait for the page


def event(talk_id: str, title: str, start: dt.datetime, seconds: int, *speakers: str) -> str:
    persons = "".join(f"<person>{p}</person>" for p in speakers)
    return (
        f'<event id="{talk_id}"><date>{start.isoformat()}</date><start>{start:%H:%M}</start>'
        f"<duration>0:{seconds // 60:02d}:{seconds % 60:02d}</duration><room>Main Hall</room>"
        f"<slug>t-{talk_id}</slug><title>{title}</title><persons>{persons}</persons></event>"
    )


async def test_the_kiosk_shows_the_talk_on_now_and_changes_at_the_next_start(
    tmp_path: Path, live_server: LiveServers, browser: Browser
) -> None:
    zone = dt.timezone(dt.timedelta(hours=-5))  # the schedule's offset is not the server's
    now = dt.datetime.now(zone).replace(microsecond=0)
    first = now + dt.timedelta(seconds=8)
    second = first + dt.timedelta(seconds=8)
    schedule = tmp_path / "schedule.xml"
    schedule.write_text(
        '<schedule><day date="2026-01-01"><room name="Main Hall">'
        + event("1", "Captions for everyone", first, 8, "Ada Lovelace")
        + event(
            "2",
            "The second talk &lt;b&gt;bold&lt;/b&gt;",
            second,
            600,
            "Grace Hopper",
            "Alan Turing",
        )
        + "</room></day></schedule>"
    )
    settings = make_settings(
        tmp_path / "state",
        schedule=str(schedule),
        trust_clock=True,  # this machine's clock may not be NTP-synchronized
        rooms={"main": RoomSettings(schedule_room="main-hall")},
    )
    server = await live_server(settings)
    context = await browser.new_context(viewport={"width": 1920, "height": 1080})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        await page.goto(f"{server.http}/kiosk/main")
        title = page.locator("header.talk .talk-title")
        speakers = page.locator("header.talk .talk-speakers")
        await expect(title).to_have_text(
            f"Next at {first.astimezone():%H:%M}: Captions for everyone", timeout=UI_MS
        )
        await expect(page.locator("header.talk")).to_have_attribute("data-kind", "next")
        await expect(title).to_have_text("Captions for everyone", timeout=UI_MS)
        await expect(speakers).to_have_text("Ada Lovelace")
        await expect(page.locator("header.talk")).to_have_attribute("data-kind", "now")
        await expect(title).to_have_text("The second talk <b>bold</b>", timeout=UI_MS)
        await expect(speakers).to_have_text("Grace Hopper, Alan Turing")
        assert await page.locator("header.talk b").count() == 0  # wire text stays text
        shot = os.environ.get("KIOSK_TALK_SCREENSHOT")
        if shot:
            await page.screenshot(path=shot)

        phone = await context.new_page()
        await phone.goto(f"{server.http}/listen/main")
        await expect(phone.locator('[data-part="talk"]')).to_have_text(
            "The second talk <b>bold</b> — Grace Hopper, Alan Turing", timeout=UI_MS
        )
        status = await context.new_page()
        await status.goto(f"{server.http}/status")
        card = status.locator('section.room[data-room="main"]')
        await expect(card.locator("dd.talk")).to_have_text(
            "Now: The second talk <b>bold</b> (Grace Hopper, Alan Turing)", timeout=UI_MS
        )
        await expect(status.locator("#talk-alarms")).to_be_hidden()
        door = await context.new_page()
        await door.goto(f"{server.http}/static/door.html?room=main")
        await expect(door.locator("#sign .talk")).to_have_text(
            "Now: The second talk <b>bold</b> (Grace Hopper, Alan Turing)", timeout=UI_MS
        )
    finally:
        await context.close()
    assert errors == []


async def test_the_status_page_shows_a_schedule_that_cannot_be_read(
    tmp_path: Path, live_server: LiveServers, browser: Browser
) -> None:
    missing = tmp_path / "no-such-schedule.xml"
    server = await live_server(make_settings(tmp_path / "state", schedule=str(missing)))
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await page.goto(f"{server.http}/kiosk/main")  # creates the room
        await expect(page.locator("body")).to_have_attribute("data-connection", "open")
        status = await context.new_page()
        await status.goto(f"{server.http}/status")
        alarms = status.locator("#talk-alarms li")
        await expect(alarms.first).to_contain_text(
            f"schedule {missing}: cannot read the file", timeout=UI_MS
        )
        talk = status.locator('section.room[data-room="main"] dd.talk')
        await expect(talk).to_contain_text("⚠ no schedule loaded: cannot read the file")
        await expect(talk).to_have_attribute("data-problem", "true")
        await expect(page.locator("header.talk")).to_be_hidden()  # the kiosk: nothing to say
    finally:
        await context.close()

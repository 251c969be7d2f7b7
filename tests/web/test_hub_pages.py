"""The pages against a conference hub, in real Chromium: a two-room conference replicating to a
real redis-server; the listener page and the kiosk served by the hub show the room's finals
(unchanged pages), and the overview shows both rooms with a no-signal alarm for the room whose
source is silent, and the hall's talk on now and the next one (the hall has a schedule)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from edge_server.core.settings import RoomSettings
from tests.helpers.hub import LiveHub
from tests.helpers.live_server import LiveServer, LiveServers, make_settings
from tests.helpers.redis_server import RedisServer
from tests.helpers.scripted_engine import PrefixTranslator, ScriptedRecognizer, word_audio
from tests.helpers.waiting import wait_for_async
from tests.helpers.wire import open_audio

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]
UI_WAIT_MS = 20000
SILENT = {"type": "level", "rms_dbfs": -120.0, "peak_dbfs": -120.0, "clipping": False,
          "silent_s": 12.0, "no_signal": True}  # fmt: skip
ADMIN = "A" * 20


@pytest.fixture
async def conference(
    redis_server: RedisServer, tmp_path: Path, live_server: LiveServers
) -> AsyncIterator[tuple[LiveServer, LiveHub]]:
    """One room server with rooms ``hall`` (in the schedule) and ``annex``, and a hub on the
    same Redis."""
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    schedule = tmp_path / "schedule.xml"
    schedule.write_text(
        '<schedule><day date="2026-01-01"><room name="Hall">'
        + "".join(
            f'<event id="{i}"><date>{start.isoformat()}</date><start>{start:%H:%M}</start>'
            f"<duration>00:30</duration><room>Hall</room><title>{title}</title>"
            f"<persons><person>{who}</person></persons></event>"
            for i, (start, title, who) in enumerate(
                [(now - dt.timedelta(minutes=1), "Keynote", "Ada Lovelace"),
                 (now + dt.timedelta(minutes=29), "Lightning talks", "Grace Hopper")]
            )
        )
        + "</room></day></schedule>"
    )  # fmt: skip
    settings = make_settings(
        tmp_path / "state",
        replicate_to=redis_server.url,
        max_frame_bytes=16000,
        schedule=str(schedule),
        trust_clock=True,  # this machine's clock may not be NTP-synchronized
        default_room=RoomSettings(targets=("it",)),
    )
    room = await live_server(
        settings,
        recognizer_factory=lambda name, r, s: ScriptedRecognizer("scripted"),
        translator_factory=lambda name, r, s: PrefixTranslator(),
    )
    hub = await LiveHub(
        make_settings(tmp_path / "unused", admin_token=ADMIN), redis_server.url
    ).start()
    yield room, hub
    await hub.stop()


async def overview(hub: LiveHub) -> dict[str, dict]:
    url = f"{hub.http}/api/overview?token={ADMIN}"
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return {r["room"]: r for r in (await resp.json())["rooms"]}


async def test_listener_kiosk_and_overview_pages_work_against_a_hub(
    conference: tuple[LiveServer, LiveHub], browser: Browser
) -> None:
    room, hub = conference
    hall, _ = await open_audio(room.ws, "hall")
    annex, _ = await open_audio(room.ws, "annex")
    await annex.send(json.dumps(SILENT))
    await hall.send(word_audio(1))
    await hall.send(word_audio(0))

    async def both_rooms() -> bool:
        rooms = await overview(hub)
        return (
            rooms.keys() == {"hall", "annex"}
            and rooms["hall"]["finals"] == 1
            and any("no signal" in a for a in rooms["annex"]["alarms"])
        )

    await wait_for_async(both_rooms, timeout=30, what="both rooms on the hub")
    context = await browser.new_context()
    try:
        page = await context.new_page()
        page.set_default_timeout(UI_WAIT_MS)
        await page.goto(f"{hub.http}/?token={ADMIN}")
        await expect(page.locator("tr[data-room='hall']")).to_contain_text("live")
        annex_row = page.locator("tr[data-room='annex'] .alarms")
        await expect(annex_row).to_contain_text("no signal (the source is silent)")
        await expect(page.locator("tr[data-room='hall'] .alarms")).not_to_contain_text("no signal")
        talk = page.locator("tr[data-room='hall'] .talk")
        await expect(talk.locator(".now")).to_contain_text("Now: Keynote (Ada Lovelace) until")
        await expect(talk.locator(".next")).to_contain_text("Next: Lightning talks (Grace Hopper)")
        await expect(page.locator("tr[data-room='annex'] .talk")).to_have_text("")

        listener = await context.new_page()
        listener.set_default_timeout(UI_WAIT_MS)
        await listener.goto(f"{hub.http}/listen/hall")
        app = listener.locator('[data-part="app"]')
        await expect(app).to_have_attribute("data-connection", "open")
        await listener.locator('.lang[data-code="it"]').click()
        kiosk = await context.new_page()
        kiosk.set_default_timeout(UI_WAIT_MS)
        await kiosk.goto(f"{hub.http}/kiosk/hall")
        await expect(kiosk.locator("body")).to_have_attribute("data-connection", "open")
        await hall.send(word_audio(2))
        await hall.send(word_audio(0))
        await expect(listener.locator(".final.latest .text")).to_have_text("it w2")
        await expect(kiosk.locator('.final[data-segment="2"] .source')).to_have_text("w2")
        await expect(kiosk.locator('.final[data-segment="1"] .source')).to_have_text("w1")
    finally:
        await context.close()
    await hall.close()
    await annex.close()
    await asyncio.sleep(0)

"""The server killed with SIGKILL mid-talk and restarted, as systemd would restart it.

Everything is real: ``edge-server serve`` (pocketsphinx, fsync on) as a child process, the audio
node ``edge-audio run`` capturing a virtual mixer of a real PipeWire (speech played into it with
``paplay``), and the kiosk page in Chromium. The kill comes while a sentence is being spoken
(a partial is on the kiosk). Then: the kiosk says it is reconnecting, the node buffers and
comes back (the new server sees its ``gap``), the restarted server serves the backlog, every
final that was on disk before the kill is still there, a torn last line (what a power cut
leaves) is moved aside, and new finals arrive, with segment ids continuing.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from websockets.asyncio.client import connect

from tests.faults.helpers import (
    MAIN_INTERPRETER_ONLY,
    REAL_SERVER,
    ServerProcess,
    free_port,
    read_transcript,
    wait_for_async,
    wait_until,
)
from tests.helpers.node_process import NodeProcess
from tests.helpers.pipewire_session import FEED, Layout, PipeWireSession, write_speech
from tests.helpers.wire import recv_json

pytestmark = [
    pytest.mark.faults,
    pytest.mark.pipewire,
    pytest.mark.speech,
    pytest.mark.browser,
    pytest.mark.timeout(240),
    MAIN_INTERPRETER_ONLY,
]
UI_MS = 15000


async def test_server_sigkilled_mid_talk_then_restarted(
    pw: PipeWireSession,
    layout: Layout,
    browser: Browser,
    librivox_files: list[tuple[Path, str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    talk = tmp_path / "talk.wav"
    write_speech(talk, [wav for wav, _ in librivox_files] * 2)  # about 55 s of speech
    port = free_port()
    state = tmp_path / "state"
    transcript = state / "rooms" / "main" / "transcript.jsonl"
    first = ServerProcess(REAL_SERVER, port, state, tmp_path / "server-1.log")
    second = ServerProcess(REAL_SERVER, port, state, tmp_path / "server-2.log")
    node: NodeProcess | None = None
    page = await browser.new_page()
    try:
        await first.start()
        node = await NodeProcess(pw, tmp_path, first.http).start()
        await page.goto(f"{first.http}/kiosk/main?lines=50", timeout=UI_MS)
        body = page.locator("body")
        await expect(body).to_have_attribute("data-connection", "open", timeout=UI_MS)
        await node.wait_log("audio flows from")
        pw.play(FEED, talk)

        # Mid-talk: two finals on disk and on screen, and the next sentence under way.
        await wait_until(lambda: len(read_transcript(transcript)) >= 2, 90, "two finals")
        await expect(page.locator(".final")).to_have_count(2, timeout=UI_MS)
        await expect(page.locator(".partial")).to_have_count(1, timeout=30000)
        shown = [
            int(s)
            for s in await page.locator(".final").evaluate_all(
                "els => els.map(e => e.dataset.segment)"
            )
        ]
        await first.kill9()
        killed_at = time.monotonic()
        on_disk = read_transcript(transcript)  # what the kill left: whole lines only
        assert {r["segment"] for r in on_disk} >= set(shown), "shown before it was on disk"

        await expect(body).to_have_attribute("data-connection", "reconnecting", timeout=UI_MS)
        # A power cut mid-write leaves half a line (a SIGKILL alone leaves whole lines, since
        # each line is one write): add one, as the SD card would have it.
        torn = b'{"type":"final","room":"main","segment":99999,"text":"half a li'
        with transcript.open("ab") as handle:
            handle.write(torn)
        await asyncio.sleep(1.0)  # systemd's RestartSec

        await second.start()
        listening_at = time.monotonic()
        # The torn tail was moved aside and the file is whole JSON lines again.
        [aside] = list(transcript.parent.glob("transcript.jsonl.torn-*"))
        assert aside.read_bytes() == torn
        after = read_transcript(transcript)
        assert after[: len(on_disk)] == on_disk, "a final on disk before the kill was lost"

        # The kiosk redials by itself and a fresh subscriber gets the backlog.
        await expect(body).to_have_attribute("data-connection", "open", timeout=UI_MS)
        kiosk_back_s = time.monotonic() - listening_at
        async with connect(f"{second.ws}/ws/captions/main?backlog=50&partials=0") as sub:
            assert (await recv_json(sub))["type"] == "status"
            backlog = [await recv_json(sub) for _ in range(len(on_disk))]
        assert [(m["segment"], m["text"]) for m in backlog] == [
            (r["segment"], r["text"]) for r in on_disk
        ]
        assert all(m["backlog"] for m in backlog)

        # The audio node comes back without being restarted and reports its gap.
        async def node_back() -> bool:
            room = (await second.health())["rooms"].get("main") or {}
            return bool((room.get("source") or {}).get("gaps"))

        await wait_for_async(node_back, 20, f"the node's gap ({node.text()})")
        node_back_s = time.monotonic() - listening_at
        source = (await second.health())["rooms"]["main"]["source"]
        assert source["client"].startswith("edge-audio")

        # New finals arrive, on screen and on disk, with ids continuing.
        last = max(r["segment"] for r in on_disk)
        await wait_until(
            lambda: any(r["segment"] > last for r in read_transcript(transcript)), 90, "a new final"
        )
        new_final_s = time.monotonic() - listening_at
        new = [r for r in read_transcript(transcript) if r["segment"] > last]
        assert new[0]["segment"] == last + 1
        assert new[0]["start"] >= on_disk[-1]["end"], "the timeline keeps counting"
        await expect(page.locator(f'.final[data-segment="{last + 1}"]')).to_have_count(
            1, timeout=UI_MS
        )
        assert "uplink lost" in node.text() or "reconnect" in node.text()
        # The killed server's recognizer worker noticed its parent was gone and exited.
        orphans = await first.reap_workers(timeout=15)
        assert orphans == [], f"worker processes outlived the killed server: {orphans}"
        with capsys.disabled():
            print(
                f"\nSIGKILL: {len(on_disk)} finals on disk at the kill, all kept; restart took "
                f"{listening_at - killed_at:.1f} s (1 s of it RestartSec); kiosk back "
                f"{kiosk_back_s:.1f} s, node back (gap {source['gaps']}) {node_back_s:.1f} s, "
                f"first new final {new_final_s:.1f} s after the new server listened"
            )
    finally:
        await page.close()
        if node is not None:
            await node.stop()
        await second.stop()
        await first.stop()
        await first.reap_workers(timeout=5)

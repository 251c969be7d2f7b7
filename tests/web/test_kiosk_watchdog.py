"""The display Pi's kiosk watchdog (kiosk/watchdog.py) with a real Chromium and a real server.

The helper runs as a process, outside systemd, exactly as the unit runs it (``-- BROWSER``),
with headless Chromium in place of ``cage -- chromium``. The test stops the page's renderer with
SIGSTOP (found in the helper's process tree), and measures the seconds until a fresh browser
shows the room's captions again. It also shows that the listener token reaches the page over
the DevTools pipe (on no command line) and leaves the address bar, and that systemd's
WATCHDOG=1 stops while the page is frozen.

The test attaches to each browser through ``--remote-debugging-port`` on 127.0.0.1 (added for
the test only: the unit has no port) to read the page as a person would see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from kiosk.watchdog import _descendants
from tests.helpers.browser import CHROMIUM
from tests.helpers.live_server import LiveServer, LiveServers, make_settings
from tests.helpers.paths import ROOT
from tests.helpers.scripted_engine import ScriptedRecognizer, word_audio
from tests.helpers.wire import open_audio

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

LISTENER_TOKEN = "watchdog-listener-token-0123456789"
WAITING_PAGE = ROOT / "ansible" / "roles" / "display_node" / "files" / "waiting.html"
STALL_S = 6.0
GRACE_S = 40.0
# Debian's python3, as on the display Pi (standard library only, no virtual environment).
HELPER_PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
RECOVERY_BOUND_S = 90.0  # generous: a busy 2-core machine; the figure is reported
FRAME_BYTES = 6400


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def server(tmp_path: Path, live_server: LiveServers) -> LiveServer:
    settings = make_settings(
        tmp_path / "state", listener_token=LISTENER_TOKEN, connect_burst=100000
    )
    started = await live_server(
        settings, recognizer_factory=lambda name, room, server: ScriptedRecognizer("scripted")
    )
    # Two finals in the room's transcript: every fresh kiosk page shows them (backlog).
    ws, ready = await open_audio(started.ws, "main")
    assert ready["type"] == "ready", ready
    words = b"".join(word_audio(n) for n in (101, 102, 103, 0, 201, 202, 0))
    for at in range(0, len(words), FRAME_BYTES):
        await ws.send(words[at : at + FRAME_BYTES])
    await ws.close()
    return started


class Notify:
    """A stand-in for systemd's notify socket: collects what the helper sends, with times."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.received: list[tuple[float, str]] = []

    def drain(self) -> list[tuple[float, str]]:
        while True:
            try:
                data = self.sock.recv(4096)
            except BlockingIOError:
                return self.received
            self.received.append((time.monotonic(), data.decode()))

    def close(self) -> None:
        self.sock.close()


@contextlib.contextmanager
def watchdog(
    tmp_path: Path, url: str, token: str, debug_port: int, notify: Path
) -> Iterator[subprocess.Popen[bytes]]:
    token_file = tmp_path / "listener-token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    argv = [
        HELPER_PYTHON, "-m", "kiosk.watchdog",
        "--url", url, "--token-file", str(token_file), "--waiting-page", str(WAITING_PAGE),
        "--stall", str(STALL_S), "--grace", str(GRACE_S), "--probe", "1",
        "--",
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--window-size=1280,720",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--remote-debugging-port={debug_port}", "--remote-debugging-address=127.0.0.1",
    ]  # fmt: skip
    env = {**os.environ, "NOTIFY_SOCKET": str(notify), "WATCHDOG_USEC": "30000000"}
    env["PYTHONPATH"] = str(ROOT)  # as on the Pi: the checkout's modules, no virtual environment
    env["WATCHDOG_PID"] = ""  # the helper's own pid is not known before it starts
    proc = subprocess.Popen(argv, cwd=ROOT, env=env)
    try:
        yield proc
    finally:
        tree = [proc.pid, *_descendants(proc.pid)]
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for pid in tree:  # anything of ours left behind (e.g. a stopped renderer)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def browser_pids(helper: int) -> list[int]:
    """The helper's direct children: the browser (one at a time)."""
    return [pid for pid in _descendants(helper) if _ppid(pid) == helper]


def _ppid(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return -1
    return int(stat.rsplit(")", 1)[1].split()[1])


def renderers(helper: int) -> list[int]:
    found = []
    for pid in _descendants(helper):
        try:
            # Chromium rewrites its children's title: one string, not NUL-separated words.
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"--type=renderer" in cmdline and b"--top-chrome-webui" not in cmdline:
            found.append(pid)
    return found


def command_lines(helper: int) -> list[str]:
    lines = []
    for pid in [helper, *_descendants(helper)]:
        with contextlib.suppress(OSError):
            lines.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
    return lines


async def kiosk_page_with_captions(debug_port: int, deadline: float) -> dict[str, object]:
    """Attach to the browser on ``debug_port`` and wait for its kiosk page to show finals."""
    last_error = ""
    async with async_playwright() as playwright:
        while time.monotonic() < deadline:
            try:
                browser = await playwright.chromium.connect_over_cdp(
                    f"http://127.0.0.1:{debug_port}", timeout=5000
                )
            except Exception as exc:  # not listening yet: a browser is starting
                last_error = str(exc)
                await asyncio.sleep(0.5)
                continue
            try:
                pages: list[Page] = [p for c in browser.contexts for p in c.pages]
                for page in pages:
                    if "/kiosk/main" not in page.url:
                        continue
                    seen = await page.evaluate(
                        """() => ({
                            url: location.href,
                            finals: document.querySelectorAll('.captions .final').length,
                            connection: document.body.dataset.connection,
                            qr: document.querySelector('.qr img')?.getAttribute('src') ?? '',
                            beat: window.__edgeKioskBeat ?? null,
                        })"""
                    )
                    if seen["finals"] >= 2 and seen["connection"] == "open":
                        return seen
            except Exception as exc:  # the page navigated or the browser went away meanwhile
                last_error = str(exc)
            finally:
                with contextlib.suppress(Exception):
                    await browser.close()  # disconnects; the browser keeps running
            await asyncio.sleep(0.5)
    pytest.fail(f"no kiosk page with captions before the deadline ({last_error})")


async def test_watchdog_restarts_a_frozen_kiosk_and_the_token_stays_off_argv(
    tmp_path: Path, server: LiveServer, pytestconfig: pytest.Config
) -> None:
    debug_port = _free_port()
    notify = Notify(tmp_path / "notify")
    url = f"{server.http}/kiosk/main?lang=it"
    try:
        with watchdog(tmp_path, url, LISTENER_TOKEN, debug_port, notify.path) as helper:
            first = await kiosk_page_with_captions(debug_port, time.monotonic() + 60)
            # The token came over the pipe, was used, and left the address bar; the page kept
            # it for the QR code (and reconnects).
            assert "token=" not in str(first["url"]), first
            assert str(first["url"]).startswith(f"{server.http}/kiosk/main?lang=it")
            assert LISTENER_TOKEN in str(first["qr"])
            assert first["beat"]
            assert first["beat"]["page"] == "kiosk"
            assert not any(LISTENER_TOKEN in line for line in command_lines(helper.pid))
            messages = [m for _, m in notify.drain()]
            assert any("READY=1" in m for m in messages), messages
            assert any("WATCHDOG=1" in m for m in messages), messages

            (old_browser,) = browser_pids(helper.pid)
            stopped = renderers(helper.pid)
            assert stopped, "a renderer to stop"
            frozen_at = time.monotonic()
            for pid in stopped:
                os.kill(pid, signal.SIGSTOP)
            notify.drain()
            second = await kiosk_page_with_captions(debug_port, frozen_at + RECOVERY_BOUND_S)
            recovered_s = time.monotonic() - frozen_at
            assert browser_pids(helper.pid) != [old_browser], "a fresh browser"
            assert "token=" not in str(second["url"])
            # While the page was frozen, systemd heard no WATCHDOG=1 (between the last beat
            # read and the restart: at least the stall time without one).
            pings = [t for t, m in notify.drain() if "WATCHDOG=1" in m]
            gaps = [b - a for a, b in zip([frozen_at, *pings], pings, strict=False)]
            assert max(gaps, default=0) >= STALL_S - 2.5, gaps
            assert recovered_s < RECOVERY_BOUND_S

            # A crashed tab ("Aw, Snap!": the renderer killed) is seen at once, not after the
            # stall time: Chromium reports the crash over the pipe.
            (second_browser,) = browser_pids(helper.pid)
            killed_at = time.monotonic()
            for pid in renderers(helper.pid):
                os.kill(pid, signal.SIGKILL)
            await kiosk_page_with_captions(debug_port, killed_at + RECOVERY_BOUND_S)
            crash_recovered_s = time.monotonic() - killed_at
            assert browser_pids(helper.pid) != [second_browser], "a fresh browser"
            capture = pytestconfig.pluginmanager.getplugin("capturemanager")
            with capture.global_and_fixture_disabled():
                print(
                    f"\nkiosk watchdog: renderer SIGSTOP -> fresh page with captions in "
                    f"{recovered_s:.1f} s (stall {STALL_S:.0f} s, probe 1 s); renderer "
                    f"SIGKILL (crashed tab) -> {crash_recovered_s:.1f} s"
                )
            assert crash_recovered_s < RECOVERY_BOUND_S
    finally:
        notify.close()


async def test_waiting_page_names_the_address_and_leaves_navigation_to_the_watchdog(
    browser: Browser, server: LiveServer
) -> None:
    page = await browser.new_page()
    try:
        # A .local name that does not resolve here: the page says what it is trying.
        await page.goto(
            f"file://{WAITING_PAGE}?via=watchdog#http://room-a-audio.local:8080/kiosk/a"
        )
        await expect(page.locator("#address")).to_have_text(
            "Caption server: room-a-audio.local:8080 (its name on the local network, mDNS)"
        )
        beat = await page.evaluate("window.__edgeKioskBeat")
        assert (beat["page"], beat["ready"]) == ("waiting", False)
        # A server that answers: ready in the heartbeat, and the page stays (the watchdog
        # opens the kiosk page with the token).
        await page.close()
        page = await browser.new_page()  # (only the part after # differs: a new document)
        await page.goto(f"file://{WAITING_PAGE}?via=watchdog#{server.http}/kiosk/main")
        await expect(page.locator("#address")).to_contain_text("(a fixed IP address)")
        await page.wait_for_function("window.__edgeKioskBeat && window.__edgeKioskBeat.ready")
        await asyncio.sleep(1.5)
        assert page.url.startswith("file://")
        await expect(page.locator("#detail")).to_have_text("Connected, opening the captions…")
    finally:
        await page.close()

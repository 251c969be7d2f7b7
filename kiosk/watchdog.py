"""``edge-kiosk-watchdog``: runs the kiosk's browser and restarts it when its page freezes.

The main process of ``edge-kiosk.service`` (``Type=notify``, ``WatchdogSec=``). It starts the
browser command it is given (``cage -d -- … chromium …``, or Chromium alone in tests) with
``--remote-debugging-pipe`` and the local waiting page, and talks to Chromium over that pipe
(:mod:`kiosk.cdp`): no TCP port, nothing another local user or a web page could reach.

- Every ``--probe`` seconds it reads the page's heartbeat (``window.__edgeKioskBeat``, counted
  in ``requestAnimationFrame``) inside an animation frame. Frames that stop coming (a hung or
  stopped renderer, a stuck GPU) or a crashed tab ("Aw, Snap!") make the page *stalled*
  (:mod:`kiosk.beat`): the helper kills the browser's whole process tree and starts it again.
- ``WATCHDOG=1`` goes to systemd only while the page beats (or a new browser is in its grace),
  so if this helper itself hangs, systemd restarts the unit; after several restarts in a row
  without a single beat the helper exits and systemd restarts the unit with a fresh seat.
- The listener token never appears on a command line: it is read from a root-only file that
  systemd hands to the unit as a credential (``LoadCredential=listener-token:…``), and the
  helper navigates the page to the kiosk URL with ``?token=`` over the DevTools pipe once the
  waiting page reports that the room's server answers. The kiosk page then takes the token out
  of its address bar (``history.replaceState``) and keeps it for reconnecting.

Standard library only (plus the project's notify module): the display Pi runs it with Debian's
python3.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_server.contract.systemd_notify import Notifier
from kiosk.beat import BeatTracker, PageBeat, Verdict, WatchPolicy, parse_beat
from kiosk.cdp import CdpError, CdpPipe

log = logging.getLogger("edge-kiosk-watchdog")

DEFAULT_WAITING_PAGE = Path("/usr/share/edge-kiosk/waiting.html")
TOKEN_CREDENTIAL = "listener-token"  # noqa: S105 (a credential name, not a secret)
EXIT_GAVE_UP = 3
"""Exit status after too many restarts without a beat (systemd then restarts the unit)."""

# Read inside an animation frame: a renderer that cannot draw never answers.
PROBE = (
    "new Promise((resolve) => requestAnimationFrame(() => "
    "resolve(JSON.stringify(window.__edgeKioskBeat ?? null))))"
)


@dataclass(frozen=True)
class Options:
    """The helper's settings (command line, or the unit's environment)."""

    url: str
    """The room's kiosk page, without the token (EDGE_KIOSK_URL)."""
    browser: tuple[str, ...]
    """The browser command; ``--remote-debugging-pipe`` and the start page are appended."""
    token_file: Path | None
    waiting_page: Path
    policy: WatchPolicy
    probe_s: float = 2.0
    probe_timeout_s: float = 5.0


def read_token(path: Path | None) -> str | None:
    """The listener token from its file (whitespace stripped), or None without one."""
    if path is None:
        return None
    token = path.read_text(encoding="utf-8").strip()
    return token or None


def kiosk_address(url: str, token: str | None) -> str:
    """The kiosk URL with ``token=`` added (replacing one that is already there)."""
    if token is None:
        return url
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "token"]
    query.append(("token", token))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def start_address(waiting_page: Path, url: str) -> str:
    """The waiting page's address: it polls the server of ``url`` (no token in it) and, with
    ``via=watchdog``, leaves the navigation to this helper."""
    return f"{waiting_page.resolve().as_uri()}?via=watchdog#{url}"


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc), children first found first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Browser:
    """One running browser and its DevTools pipe."""

    def __init__(self, process: asyncio.subprocess.Process, pipe: CdpPipe) -> None:
        self.process = process
        self.pipe = pipe
        self.session: str | None = None
        self.target: str | None = None
        self.crashed = False
        self.pipe_task = asyncio.ensure_future(pipe.run())

    @classmethod
    async def start(cls, argv: Sequence[str]) -> Browser:
        """Start ``argv`` with the DevTools pipe on its fds 3 (commands) and 4 (answers)."""
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()

        def wire_pipes() -> None:  # in the child, before exec
            high_r = os.dup(to_browser_r)
            high_w = os.dup(from_browser_w)
            os.dup2(high_r, 3)  # dup2 leaves the new descriptor inheritable
            os.dup2(high_w, 4)

        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=None,  # the unit's tty: cage runs on it
                close_fds=False,  # only 3 and 4 are inheritable: Python opens the rest CLOEXEC
                preexec_fn=wire_pipes,
                process_group=0,
            )
        finally:
            os.close(to_browser_r)
            os.close(from_browser_w)
        browser = cls(process, CdpPipe(from_browser_r, to_browser_w))
        browser.pipe._on_event = browser._event
        return browser

    def _event(self, event: dict[str, Any]) -> None:
        method = event.get("method")
        params = event.get("params") or {}
        page_crashed = (
            method == "Inspector.targetCrashed" and event.get("sessionId") == self.session
        ) or (method == "Target.targetCrashed" and params.get("targetId") == self.target)
        if page_crashed and not self.crashed:
            self.crashed = True
            log.warning("the kiosk page crashed (%s)", params.get("status", "renderer gone"))

    async def attach(self) -> bool:
        """Attach to the page target (flat session); False when there is none yet."""
        with contextlib.suppress(CdpError):
            await self.pipe.call("Target.setDiscoverTargets", {"discover": True})
        targets = await self.pipe.call("Target.getTargets")
        pages = [t for t in targets.get("targetInfos", []) if t.get("type") == "page"]
        if not pages:
            return False
        self.target = pages[0]["targetId"]
        attached = await self.pipe.call(
            "Target.attachToTarget", {"targetId": self.target, "flatten": True}
        )
        self.session = attached["sessionId"]
        with contextlib.suppress(CdpError):
            await self.pipe.call("Inspector.enable", session=self.session)
        return True

    async def read_beat(self) -> PageBeat | None:
        """The page's heartbeat, read inside an animation frame."""
        if self.session is None and not await self.attach():
            return None
        result = await self.pipe.call(
            "Runtime.evaluate",
            {"expression": PROBE, "awaitPromise": True, "returnByValue": True},
            session=self.session,
        )
        value = result.get("result", {}).get("value")
        try:
            decoded = json.loads(value) if isinstance(value, str) else None
        except ValueError:
            decoded = None
        return parse_beat(decoded)

    async def navigate(self, url: str) -> None:
        """Open ``url`` in the page (over the pipe: the address never reaches a command line)."""
        await self.pipe.call("Page.navigate", {"url": url}, session=self.session)

    @property
    def exited(self) -> bool:
        """The browser (or its compositor) has exited."""
        return self.process.returncode is not None

    async def stop(self) -> None:
        """Kill the browser's whole process tree (stopped processes too) and reap it."""
        pid = self.process.pid
        tree = [pid, *_descendants(pid)]
        for target in tree:
            with contextlib.suppress(ProcessLookupError):
                os.kill(target, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.process.wait(), 10)
        self.pipe_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.pipe_task


class Watchdog:
    """Start the browser, watch its page, restart it when it stalls."""

    def __init__(self, options: Options, notifier: Notifier | None = None) -> None:
        self.options = options
        self.notifier = notifier or Notifier()
        self.tracker = BeatTracker(options.policy)
        self.restarts = 0
        self.browser: Browser | None = None
        self.stopping = asyncio.Event()

    async def run(self) -> int:
        """Until asked to stop (SIGTERM): the exit status."""
        ready_sent = False
        try:
            while not self.stopping.is_set():
                self.browser = await self._start_browser()
                if not ready_sent:
                    self.notifier.notify(ready=True, status="browser started")
                    ready_sent = True
                await self._watch(self.browser)
                await self.browser.stop()
                if self.stopping.is_set():
                    break
                if self.tracker.gives_up():
                    log.error(
                        "%d browser starts in a row without a heartbeat; exiting so systemd "
                        "restarts the whole kiosk",
                        self.tracker.quiet_restarts + 1,
                    )
                    return EXIT_GAVE_UP
                self.restarts += 1
        finally:
            if self.browser is not None and not self.browser.exited:
                await self.browser.stop()
            self.notifier.notify(stopping=True)
        return 0

    async def _start_browser(self) -> Browser:
        argv = [
            *self.options.browser,
            "--remote-debugging-pipe",
            start_address(self.options.waiting_page, self.options.url),
        ]
        browser = await Browser.start(argv)
        self.tracker.started(time.monotonic())
        log.info("browser started (pid %d, restart %d)", browser.process.pid, self.restarts)
        return browser

    async def _watch(self, browser: Browser) -> None:
        navigated = False
        while not self.stopping.is_set():
            beat = None
            with contextlib.suppress(CdpError, asyncio.TimeoutError, KeyError):
                beat = await asyncio.wait_for(browser.read_beat(), self.options.probe_timeout_s)
            now = time.monotonic()
            self.tracker.reading(now, beat)
            if browser.crashed:
                self.tracker.crash()
            if beat is not None and beat.page == "waiting" and beat.ready and not navigated:
                navigated = await self._open_kiosk(browser)
            verdict = self.tracker.verdict(now)
            if self.tracker.keeps_systemd_happy(now):
                self.notifier.notify(watchdog=True)
            self.notifier.status(self._status(verdict, beat))
            if browser.exited:
                log.warning("the browser exited (status %s)", browser.process.returncode)
                return
            if verdict is Verdict.STALLED:
                log.warning(
                    "the kiosk page is stalled (%s); restarting the browser",
                    "crashed" if browser.crashed else "no frames",
                )
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.options.probe_s)

    async def _open_kiosk(self, browser: Browser) -> bool:
        try:
            token = read_token(self.options.token_file)
        except OSError as exc:
            log.error("cannot read the listener token %s: %s", self.options.token_file, exc)
            token = None
        try:
            await asyncio.wait_for(
                browser.navigate(kiosk_address(self.options.url, token)),
                self.options.probe_timeout_s,
            )
        except (TimeoutError, CdpError) as exc:
            log.warning("could not open the kiosk page: %s", exc)
            return False
        log.info("the room's server answers: kiosk page opened (%s)", self.options.url)
        return True

    def _status(self, verdict: Verdict, beat: PageBeat | None) -> str:
        page = beat.describe() if beat is not None else "no heartbeat"
        return f"{verdict.value}: {page}; {self.restarts} browser restarts"


def _token_path(given: str | None) -> Path | None:
    if given:
        return Path(given)
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if credentials and (Path(credentials) / TOKEN_CREDENTIAL).is_file():
        return Path(credentials) / TOKEN_CREDENTIAL
    return None


def parse_args(argv: Sequence[str]) -> Options:
    """Options from the command line (``… -- BROWSER ARGS``)."""
    parser = argparse.ArgumentParser(
        prog="edge-kiosk-watchdog",
        description="Run the kiosk's browser; restart it when its page stops beating.",
    )
    parser.add_argument(
        "--url",
        default=os.environ.get("EDGE_KIOSK_URL", ""),
        help="the room's kiosk page without token (default: $EDGE_KIOSK_URL)",
    )
    parser.add_argument(
        "--token-file",
        default=None,
        help="the listener token (default: the unit's listener-token credential)",
    )
    parser.add_argument("--waiting-page", default=str(DEFAULT_WAITING_PAGE))
    parser.add_argument(
        "--stall",
        type=float,
        default=15.0,
        help="seconds without a heartbeat before a restart (default 15)",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=60.0,
        help="seconds a new browser has for its first heartbeat (default 60)",
    )
    parser.add_argument(
        "--probe",
        type=float,
        default=2.0,
        help="seconds between two readings of the page (default 2)",
    )
    parser.add_argument("--max-quiet-restarts", type=int, default=3)
    parser.add_argument("browser", nargs=argparse.REMAINDER, help="-- then the browser command")
    args = parser.parse_args(argv)
    browser = args.browser[1:] if args.browser[:1] == ["--"] else args.browser
    if not browser:
        parser.error("give the browser command after --")
    if not args.url.startswith(("http://", "https://")):
        parser.error(f"--url (or EDGE_KIOSK_URL) must be an http(s) URL, not {args.url!r}")
    if "token=" in urllib.parse.urlsplit(args.url).query:
        parser.error("--url must not carry the token: put it in the token file")
    try:
        policy = WatchPolicy(args.stall, args.grace, args.max_quiet_restarts)
    except ValueError as exc:
        parser.error(str(exc))
    return Options(
        url=args.url,
        browser=tuple(browser),
        token_file=_token_path(args.token_file),
        waiting_page=Path(args.waiting_page),
        policy=policy,
        probe_s=args.probe,
        probe_timeout_s=max(args.probe * 2.5, 3.0),
    )


async def _main(options: Options) -> int:
    watchdog = Watchdog(options)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, watchdog.stopping.set)
    return await watchdog.run()


def main(argv: Sequence[str] | None = None) -> int:
    """Console script entry point."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    options = parse_args(sys.argv[1:] if argv is None else argv)
    return asyncio.run(_main(options))


if __name__ == "__main__":
    sys.exit(main())

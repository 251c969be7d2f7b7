"""``edge-audio run``: capture, uplink, levels and systemd, wired together.

:class:`AudioNode` runs the :class:`~edge_audio.capture.loop.CaptureLoop` (device -> frames) and the
:class:`~edge_audio.link.reconnect.UplinkLoop` (frames -> server) side by side, joined only by the
bounded :class:`~edge_audio.link.buffer.FrameBuffer`: a lost device does not touch the connection,
a lost server does not touch capture. Once a second it sends the signal level and tells systemd
how things are (``STATUS=``).

systemd (``Type=notify``): ``READY=1`` as soon as the node is up and looking for its device, with
``STATUS=waiting for audio from ...``, so a room whose mixer is off does not hold the boot.
``WATCHDOG=1`` while it waits with a capture loop that keeps trying (discovery answered within
:data:`WAIT_PROGRESS_S`); once audio has flowed, only while frames really flow: a stall or a
long unplug stops the pings and systemd restarts the node, which then waits, ready, again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from edge_audio.capture.loop import CaptureLoop, LiveSource
from edge_audio.capture.sources import Block
from edge_audio.link.buffer import FrameBuffer
from edge_audio.link.history import SentHistory
from edge_audio.link.reconnect import DRAIN_ON_STOP_S, END_TIMEOUT_S, FatalRefusal, UplinkLoop
from edge_audio.link.uplink import FinalHandler, UplinkSettings
from edge_audio.pcm.meter import LevelMeter, LevelReport
from edge_audio.settings import NodeSettings
from edge_server.contract.backoff import BackoffPolicy
from edge_server.contract.systemd_notify import Notifier

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_REFUSED = 3
FLOW_WINDOW_S = 2.0
"""Frames count as flowing when the last one is at most this old."""
WAIT_PROGRESS_S = 30.0
"""Before audio first flows, the watchdog is fed only while the capture loop's last attempt to
find the device is at most this old (discovery answers within seconds: pw-dump's timeout plus
the longest retry delay): a discovery wedged for good stops the pings too."""
TICK_S = 1.0
SEND_BUFFER_BYTES = 8 * 1024
"""The socket's send buffer: about half a second of audio in flight on a link that may
already be dead (the kernel doubles it); the rest waits in the node's own buffer. Still ample
for LAN speeds: a backlog goes out many times faster than real time."""
WRITE_LIMIT_BYTES = 4 * 1024


def uplink_settings(settings: NodeSettings) -> UplinkSettings:
    """The per-connection settings for ``settings``."""
    return UplinkSettings(
        url=settings.url,
        language=settings.language,
        open_timeout=5.0,
        ready_timeout=10.0,
        end_timeout=END_TIMEOUT_S,
        ping_interval=settings.ping_interval_s,
        ping_timeout=settings.ping_timeout_s,
        write_limit=WRITE_LIMIT_BYTES,
        send_buffer_bytes=SEND_BUFFER_BYTES,
        token=settings.token,
        ca_file=settings.ca_file,
    )


class _Levels:
    """The level meter across device changes (the silence timer carries over)."""

    def __init__(self, settings: NodeSettings) -> None:
        self.settings = settings
        self.meter: LevelMeter | None = None
        self.last_report_at = time.monotonic()

    def add(self, rate: int, block: Block) -> LevelReport | None:
        if self.meter is None or self.meter.sample_rate != rate:
            silent = self.meter.silent_s if self.meter is not None else 0.0
            self.meter = LevelMeter(
                rate, self.settings.silence_dbfs, self.settings.no_signal_seconds
            )
            self.meter.silent_s = silent
        reports = self.meter.add(block)
        if not reports:
            return None
        self.last_report_at = time.monotonic()
        return reports[-1]

    def idle(self) -> LevelReport | None:
        """A report for the time without audio, once a tick has passed with none."""
        now = time.monotonic()
        if now - self.last_report_at < TICK_S * 1.5:
            return None
        if self.meter is None:
            self.meter = LevelMeter(
                48000, self.settings.silence_dbfs, self.settings.no_signal_seconds
            )
        report = self.meter.idle(now - self.last_report_at)
        self.last_report_at = now
        return report


class AudioNode:
    """The live audio node. ``await run()``; :meth:`stop` (or SIGTERM via the CLI) ends it."""

    def __init__(
        self,
        settings: NodeSettings,
        *,
        open_source: Callable[[], Awaitable[LiveSource]] | None = None,
        notifier: Notifier | None = None,
        on_final: FinalHandler | None = None,
        uplink_policy: BackoffPolicy | None = None,
    ) -> None:
        """``open_source`` replaces device discovery (tests); ``notifier`` defaults to
        systemd's from the environment."""
        self.settings = settings
        self.buffer = FrameBuffer(settings.buffer_bytes)
        self.wake = asyncio.Event()
        self.capture = CaptureLoop(
            settings, self._on_frame, self._on_block, open_source=open_source
        )
        self.link = UplinkLoop(
            uplink_settings(settings),
            self.buffer,
            self.wake,
            device=lambda: self.capture.stats.device,
            policy=uplink_policy
            or BackoffPolicy(first_s=0.5, factor=1.5, max_s=settings.reconnect_max_s),
            on_final=on_final,
            history=SentHistory(settings.resend_bytes),
        )
        self.notifier = notifier if notifier is not None else Notifier()
        self.ready = False
        """``READY=1`` sent (at the start of :meth:`run`)."""
        self._levels = _Levels(settings)
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Ask the node to finish: capture stops, the stream ends cleanly."""
        self._stop.set()

    async def run(self) -> int:
        """Run until stopped (0) or refused for good by the server (3)."""
        log.info(
            "audio node for room %s at %s, device %r, channel %s",
            self.settings.room,
            self.settings.url,
            self.settings.device,
            self.settings.channel,
        )
        link_stop = asyncio.Event()
        capture = asyncio.create_task(self.capture.run(self._stop), name="capture")
        link = asyncio.create_task(self.link.run(link_stop), name="uplink")
        health = asyncio.create_task(self._health(), name="health")
        stopper = asyncio.create_task(self._stop.wait())
        self.ready = True  # up and looking for the device: ready, even with the mixer off
        self.notifier.notify(ready=True, status=self.status())
        code = EXIT_OK
        try:
            await asyncio.wait({capture, link, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if link.done() and isinstance(link.exception(), FatalRefusal):
                log.error("server refused the stream: %s", link.exception())
                code = EXIT_REFUSED
        finally:
            self._stop.set()
            self.notifier.notify(stopping=True, status="stopping")
            await _finish(capture, 5.0)
            link_stop.set()
            self.wake.set()
            await _finish(link, DRAIN_ON_STOP_S + END_TIMEOUT_S + 5.0)
            for task in (health, stopper):
                task.cancel()
            await asyncio.gather(health, stopper, return_exceptions=True)
            self.notifier.close()
        for task in (link, capture):
            error = task.exception() if task.done() and not task.cancelled() else None
            if isinstance(error, FatalRefusal):
                code = EXIT_REFUSED
            elif error is not None:
                raise error
        return code

    def _on_frame(self, frame: bytes) -> None:
        self.buffer.push(frame)
        self.wake.set()
        if self.capture.stats.frames == 1:
            log.info("audio flows from %s", self.capture.stats.device)
            self.notifier.status(self.status())

    def _on_block(self, rate: int, block: Block) -> None:
        report = self._levels.add(rate, block)
        if report is not None:
            self.link.post_level(report)

    def flowing(self) -> bool:
        """True when the last frame reached the buffer within :data:`FLOW_WINDOW_S`."""
        last = self.capture.stats.last_frame_at
        return last is not None and time.monotonic() - last <= FLOW_WINDOW_S

    def flowed(self) -> bool:
        """True once a frame has reached the buffer (the watchdog's rule changes then)."""
        return self.capture.stats.last_frame_at is not None

    def watchdog_due(self) -> bool:
        """Whether this tick feeds the watchdog: before audio first flows, while the capture
        loop keeps trying (:data:`WAIT_PROGRESS_S`); after, only while frames flow."""
        if self.flowed():
            return self.flowing()
        last = self.capture.stats.last_attempt_at
        return last is not None and time.monotonic() - last <= WAIT_PROGRESS_S

    def status(self) -> str:
        """One line for ``STATUS=``: capture state and device, uplink state, backlog.

        Before audio first flows: ``waiting for audio from 'PATTERN' (why); server ...``.
        """
        cap, link = self.capture.stats, self.link.stats
        reason = f" ({cap.reason})" if cap.reason else ""
        if not self.flowed() and not cap.device:
            text = f"waiting for audio from {self.settings.preference.text!r}{reason}"
        else:
            text = f"{cap.state}{f' {cap.device}' if cap.device else reason}"
        text += f"; server {link.state}"
        if self.buffer.seconds >= 1.0:
            text += f", {self.buffer.seconds:.0f} s buffered"
        return text

    async def _health(self) -> None:
        interval = TICK_S
        if self.notifier.watchdog_s is not None:
            interval = min(interval, self.notifier.watchdog_s)
        while True:
            await asyncio.sleep(interval)
            if not self.flowing():
                report = self._levels.idle()
                if report is not None:
                    self.link.post_level(report)
            if self.notifier.watchdog_s is not None and self.watchdog_due():
                self.notifier.notify(watchdog=True)
            self.notifier.status(self.status())


async def _finish(task: asyncio.Task[None], grace: float) -> None:
    """Wait for ``task`` to end by itself, cancelling it after ``grace`` seconds."""
    await asyncio.wait({task}, timeout=grace)
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

"""The uplink's reconnect loop: one :class:`~edge_audio.link.uplink.AudioUplink` per attempt.

Frames come from the bounded :class:`~edge_audio.link.buffer.FrameBuffer`, which keeps filling
while the server is away. After each reconnection the loop sends ``gap`` (how long it was
away, how much audio it had to drop) right after ``ready``, then the last seconds sent on the
lost connection again (:mod:`edge_audio.link.history`: they may have died in flight; a server
that has this stream drops what it already had), then the buffered audio as fast as the server
takes it, then live audio. Every frame's place in the node's stream is told with ``position``
wherever it does not follow on from the frame before.

Refusals a configuration error causes (``bad_hello``, ``unsupported_format``,
``unsupported_language``, an invalid room, a refused token) are fatal
(:func:`edge_server.contract.server_replies.is_fatal`): retrying would not fix them. Everything
else (server restarting, busy, connection lost) is retried with
:class:`~edge_server.contract.backoff.BackoffPolicy` jitter.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge_audio.link.buffer import FrameBuffer, Positioned
from edge_audio.link.history import SentHistory, plan_resend
from edge_audio.link.uplink import (
    AudioUplink,
    FinalHandler,
    Ready,
    ServerRefused,
    UplinkError,
    UplinkLost,
    UplinkSettings,
)
from edge_audio.pcm.meter import LevelReport
from edge_server.contract.audio_format import BYTES_PER_SAMPLE, BYTES_PER_SECOND
from edge_server.contract.backoff import Backoff, BackoffPolicy
from edge_server.contract.log_fields import set_log_fields
from edge_server.contract.server_replies import is_fatal
from edge_server.contract.uplink import build_position

log = logging.getLogger(__name__)

STABLE_CONNECTION_S = 5.0
"""A connection that lasted this long resets the backoff (a crash-looping server does not)."""
DRAIN_ON_STOP_S = 2.0
"""At shutdown, how long buffered audio may still be sent before ``end``."""
END_TIMEOUT_S = 5.0
"""At shutdown, how long to wait for ``ended``."""


class FatalRefusal(Exception):
    """The server refused the stream for a reason retrying will not fix."""

    def __init__(self, refusal: ServerRefused) -> None:
        """Wraps the refusal; the message says what to fix."""
        self.refusal = refusal
        super().__init__(f"{refusal} (a configuration problem: fix it and restart)")


@dataclass
class LinkStats:
    """What the uplink is doing."""

    state: str = "connecting"
    """``connecting``, ``connected``, ``reconnecting``, ``stopped`` or ``refused``."""
    connects: int = 0
    session: str = ""
    reason: str = ""
    """Why the last connection ended or the last attempt failed."""
    gaps: list[tuple[float, float]] = dataclasses.field(default_factory=list)
    """``(dropped_s, offline_s)`` of every ``gap`` sent."""
    frames_sent: int = 0
    bytes_sent: int = 0
    resent_s: list[float] = dataclasses.field(default_factory=list)
    """Seconds of audio offered again after each reconnect that resent any."""


class UplinkLoop:
    """Keeps one connection to the server, reconnecting until stopped."""

    def __init__(
        self,
        settings: UplinkSettings,
        buffer: FrameBuffer,
        wake: asyncio.Event,
        device: Callable[[], str] = str,
        policy: BackoffPolicy | None = None,
        on_final: FinalHandler | None = None,
        history: SentHistory | None = None,
    ) -> None:
        """``wake`` is set whenever a frame or a level report is added; ``device`` gives the
        ``hello.device`` text at each connection; ``history`` keeps what was sent, to resend
        (None: nothing is resent)."""
        self.settings = settings
        self.buffer = buffer
        self.wake = wake
        self.device = device
        self.policy = policy or BackoffPolicy(first_s=0.5, factor=1.5, max_s=2.5, jitter=0.5)
        self.on_final = on_final
        self.stall_s = settings.ping_timeout or 10.0
        """A send that makes no progress for this long means the link is dead. (A ping cannot
        tell while the write buffer is full: websockets queues it behind the audio.)"""
        self.stats = LinkStats()
        self.stream_id = secrets.token_hex(8)
        """This node process's stream (``hello.stream``): a restart is a new stream."""
        self.history = history if history is not None else SentHistory(0)
        self._level: LevelReport | None = None
        self._lost_at: float | None = None
        self._resend: deque[Positioned] = deque()
        self._positions = False
        self._next_position: int | None = None
        self._finalized: int | None = None
        """Where the audio of the last ``final`` received ends in the stream (``stream_end``)."""

    def post_level(self, report: LevelReport) -> None:
        """Send ``report`` at the next chance (only the latest one is kept)."""
        self._level = report
        self.wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Stream until ``stop`` is set (then drain briefly, ``end``, wait for ``ended``).

        Raises :class:`FatalRefusal` when the server refuses for good.
        """
        backoff = Backoff(self.policy)
        attempts = 0
        stopping = asyncio.ensure_future(stop.wait())
        stopping.add_done_callback(lambda _: self.wake.set())
        try:
            await self.wake.wait()  # the first frame or level: the hello can name the device
            while not stop.is_set():
                settings = dataclasses.replace(
                    self.settings, device=self.device() or None, stream=self.stream_id
                )
                uplink = AudioUplink(settings, on_final=self._final)
                started: float | None = None
                try:
                    ready = await uplink.connect()
                    started = time.monotonic()
                    attempts = 0
                    self.stats.connects += 1
                    self.stats.state, self.stats.session = "connected", ready.session
                    set_log_fields(session=ready.session)  # journalctl SESSION=... (this task)
                    self._plan_resend(ready)
                    await self._send_gap(uplink)
                    await self._stream(uplink, stop)
                except ServerRefused as exc:
                    if is_fatal(exc.code, exc.close_code):
                        self.stats.state, self.stats.reason = "refused", str(exc)
                        raise FatalRefusal(exc) from None
                    self._lost(exc, started, attempts)
                except UplinkError as exc:
                    self._lost(exc, started, attempts)
                finally:
                    self.stats.frames_sent += uplink.frames_sent
                    self.stats.bytes_sent += uplink.bytes_sent
                    if uplink.closed_by_server:  # it finalized all it had: a restarted
                        self._finalized = self.history.end or self._finalized  # server gets none
                    await uplink.close()
                if stop.is_set():
                    break
                if started is not None and time.monotonic() - started >= STABLE_CONNECTION_S:
                    backoff.reset()
                attempts += 1
                delay = backoff.next_delay()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
        finally:
            stopping.cancel()
        if self.stats.state != "refused":
            self.stats.state = "stopped"

    def _lost(self, exc: UplinkError, started: float | None, attempts: int) -> None:
        if started is not None or self._lost_at is None:
            dead_for = exc.dead_for if isinstance(exc, UplinkLost) else 0.0
            self._lost_at = time.monotonic() - dead_for
        self.stats.state, self.stats.reason = "reconnecting", str(exc)
        if started is not None:
            log.warning("uplink lost: %s; reconnecting, buffering audio meanwhile", exc)
        elif attempts == 0 or attempts % 20 == 0:
            log.warning("cannot reach the server (attempt %d): %s", attempts + 1, exc)
        else:
            log.debug("cannot reach the server (attempt %d): %s", attempts + 1, exc)

    def _final(self, message: dict[str, Any]) -> None:
        end = message.get("stream_end")
        if isinstance(end, int) and not isinstance(end, bool) and end >= 0:
            self._finalized = max(end, self._finalized or 0)
        if self.on_final is not None:
            self.on_final(message)

    def _plan_resend(self, ready: Ready) -> None:
        plan = plan_resend(
            self.history.take(), self.stream_id, ready.stream, ready.received, self._finalized
        )
        self._positions, self._next_position = plan.positions, None
        self._resend = deque(plan.resend)
        if plan.resend:
            seconds = sum(len(frame) for _, frame in plan.resend) / BYTES_PER_SECOND
            self.stats.resent_s.append(round(seconds, 3))
        if self.stats.connects > 1:
            log.info("reconnected: %s", plan.why)

    async def _send_gap(self, uplink: AudioUplink) -> None:
        dropped = self.buffer.take_dropped_seconds()
        if self._lost_at is None and dropped == 0:
            return  # the first connection, nothing missed
        offline = time.monotonic() - self._lost_at if self._lost_at is not None else 0.0
        dropped_s, offline_s = round(min(dropped, 86400.0), 3), round(min(offline, 1e7), 3)
        gap = {"type": "gap", "dropped_s": dropped_s, "offline_s": offline_s}
        self.stats.gaps.append((dropped_s, offline_s))
        log.info(
            "back after %.1f s away: %.1f s of audio dropped, %.1f s buffered to send",
            offline,
            dropped,
            self.buffer.seconds,
        )
        await uplink.send(json.dumps(gap))
        self._lost_at = None

    async def _stream(self, uplink: AudioUplink, stop: asyncio.Event) -> None:
        """Send levels and frames until ``stop`` (then finish cleanly) or the link goes.

        One event (``wake``) says that there is something to do: a frame, a level, the stop, or
        the connection gone; nothing is created per frame.
        """
        lost = asyncio.ensure_future(uplink.wait_lost())
        lost.add_done_callback(lambda _: self.wake.set())
        try:
            while not stop.is_set():
                if lost.done():
                    lost.result()  # raises why the connection went
                self.wake.clear()
                if self._level is not None:
                    report, self._level = self._level, None
                    await self._send(uplink, json.dumps(report.to_message()))
                item = self._next_frame()
                if item is None:
                    await self.wake.wait()
                    continue
                await self._send_frame(uplink, *item)
                if self._resend or len(self.buffer):
                    await asyncio.sleep(0)  # a long backlog must not starve capture
            await self._finish(uplink)
        finally:
            if not lost.done():
                lost.cancel()
            with contextlib.suppress(asyncio.CancelledError, UplinkError):
                await lost

    def _next_frame(self) -> Positioned | None:
        """The next frame to send: what is resent first, then the buffer's oldest."""
        return self._resend.popleft() if self._resend else self.buffer.pop_positioned()

    async def _send_frame(self, uplink: AudioUplink, position: int, frame: bytes) -> None:
        """Send ``frame``, after a ``position`` when it does not follow on from the last."""
        self.history.record(position, frame)  # before sending: the send itself may die
        if self._positions and position != self._next_position:
            await self._send(uplink, build_position(position))
        self._next_position = position + len(frame) // BYTES_PER_SAMPLE
        await self._send(uplink, frame)

    async def _send(self, uplink: AudioUplink, data: bytes | str) -> None:
        """Send, declaring the link dead when the send makes no progress for ``stall_s``."""
        try:
            async with asyncio.timeout(self.stall_s):
                await uplink.send(data)
        except TimeoutError:
            uplink.abort()
            raise UplinkLost(
                uplink.url, f"nothing could be sent for {self.stall_s:g} s", self.stall_s
            ) from None

    async def _finish(self, uplink: AudioUplink) -> None:
        """Shutdown: send what is buffered (briefly), then ``end`` and wait for ``ended``."""
        deadline = time.monotonic() + DRAIN_ON_STOP_S
        while time.monotonic() < deadline and (item := self._next_frame()) is not None:
            await self._send_frame(uplink, *item)
        if self._resend or len(self.buffer):
            log.warning("stopping: %.1f s of buffered audio not sent", self.buffer.seconds)
        ended = await uplink.end()
        log.info(
            "stream ended: %s final(s), %.1f s of audio",
            ended.finals,
            ended.audio_seconds or 0.0,
        )

"""The capture loop: find the device, capture, convert to frames; again when the device goes.

An adapter over the pure pieces: :class:`DeviceFinder` discovers (``pw-dump`` + PortAudio) and
opens the best candidate; :class:`CaptureLoop` turns its blocks into uplink frames (selected or
mixed channel, 16 kHz mono s16le) and feeds the level meter. When the device is lost (unplugged,
PipeWire restarted, stalled) the stream is closed and discovery retries with backoff until the
device is back; the uplink is not involved and stays connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from edge_audio.capture.device_source import DeviceLost, DeviceSource
from edge_audio.capture.sources import AudioSourceError, Block
from edge_audio.discovery.openplan import NoRoute, plan_open
from edge_audio.discovery.probe import DiscoveryError, discover
from edge_audio.discovery.ranking import Preference
from edge_audio.pcm.convert import PcmConverter
from edge_audio.pcm.framing import FrameAssembler, frame_bytes_for_ms
from edge_audio.settings import NodeSettings
from edge_server.contract.backoff import Backoff, BackoffPolicy

log = logging.getLogger(__name__)

DISCOVERY_POLICY = BackoffPolicy(first_s=0.5, factor=1.5, max_s=5.0, jitter=0.5)
"""Retries of discovery: soon after a loss (a replug takes a second), then every few seconds."""
CAPTURE_BLOCK_MS = 200
"""Audio per capture callback. Each block costs a thread hand-over and a few event-loop turns
whatever its size, so blocks longer than the uplink's frames (cut from them) halve that cost;
audio leaves the node at most this much later, small beside the recognizer's own delay."""
PIPEWIRE_GRACE_S = 15.0
"""After PipeWire was seen, how long its absence is taken for a restart (wait) rather than a
machine without PipeWire (fall back to ALSA hardware, which would take the card from it)."""


class NoDevice(Exception):
    """Nothing to capture right now; the message says why."""


class LiveSource(Protocol):
    """What the capture loop needs of an open device (:class:`DeviceSource` has it)."""

    @property
    def sample_rate(self) -> int:
        """Frames per second."""
        ...

    @property
    def channels(self) -> int:
        """Columns of each block."""
        ...

    @property
    def label(self) -> str:
        """What is captured, for logs and the ``hello``."""
        ...

    def __aiter__(self) -> AsyncIterator[Block]:
        """Blocks until closed; raises :class:`DeviceLost` when the device goes."""
        ...

    async def aclose(self) -> None:
        """Stop capturing."""
        ...


class _Opened:
    """A :class:`DeviceSource` with the :class:`LiveSource` label."""

    def __init__(self, source: DeviceSource) -> None:
        self.source = source
        self.sample_rate = source.sample_rate
        self.channels = source.channels
        self.label = source.plan.label

    def __aiter__(self) -> AsyncIterator[Block]:
        return self.source.__aiter__()

    async def aclose(self) -> None:
        await self.source.aclose()


class DeviceFinder:
    """Discovers and opens the best device for a preference (the real adapter)."""

    def __init__(self, preference: Preference, block_ms: int, stall_s: float) -> None:
        self.preference = preference
        self.block_ms = block_ms
        self.stall_s = stall_s
        self._pipewire_seen: float | None = None

    async def open(self) -> LiveSource:
        """Open the best eligible candidate (trying the next ones if it fails to open)."""
        try:
            ranking, seen = await asyncio.to_thread(discover, self.preference)
        except DiscoveryError as exc:
            raise NoDevice(str(exc)) from None
        now = time.monotonic()
        if ranking.pipewire:
            self._pipewire_seen = now
        elif self._pipewire_seen is not None and now - self._pipewire_seen < PIPEWIRE_GRACE_S:
            raise NoDevice(f"{seen.pipewire_note}; waiting for it to come back")
        eligible = [c for c in ranking.candidates if c.eligible]
        if not eligible:
            where = "PipeWire" if ranking.pipewire else f"ALSA ({seen.pipewire_note})"
            raise NoDevice(f"no capture device matches {self.preference.text!r} in {where}")
        errors = []
        for candidate in eligible:
            try:
                plan = plan_open(candidate, seen.devices)
                source = DeviceSource(
                    plan, round(plan.samplerate * self.block_ms / 1000), self.stall_s
                )
                await source.open()
            except (NoRoute, AudioSourceError) as exc:
                errors.append(str(exc))
                continue
            return _Opened(source)
        raise NoDevice("; ".join(errors))


@dataclass
class CaptureStats:
    """What the capture loop is doing, for ``STATUS=``, the watchdog and tests."""

    state: str = "starting"
    """``starting``, ``waiting for device``, ``capturing`` or ``stopped``."""
    device: str = ""
    """The device being captured (with the channel used), ``""`` when none."""
    reason: str = ""
    """Why it is waiting, or the last loss."""
    frames: int = 0
    bytes: int = 0
    last_frame_at: float | None = None
    """``time.monotonic()`` of the last frame handed on."""
    last_attempt_at: float | None = None
    """``time.monotonic()`` when an attempt to find and open the device last began or ended
    (the loop is alive while this moves)."""
    opens: int = 0
    losses: int = 0


class CaptureLoop:
    """Runs capture until stopped, surviving device losses."""

    def __init__(
        self,
        settings: NodeSettings,
        on_frame: Callable[[bytes], None],
        on_block: Callable[[int, Block], None] | None = None,
        open_source: Callable[[], Awaitable[LiveSource]] | None = None,
        policy: BackoffPolicy = DISCOVERY_POLICY,
    ) -> None:
        """``on_frame`` gets each uplink frame; ``on_block`` gets ``(rate, block)`` with the
        channels that feed the output (for the meter); ``open_source`` defaults to a
        :class:`DeviceFinder` for the settings' preference."""
        self.settings = settings
        self.on_frame = on_frame
        self.on_block = on_block
        block_ms = max(CAPTURE_BLOCK_MS, settings.frame_ms)
        finder = DeviceFinder(settings.preference, block_ms, settings.stall_seconds)
        self.open_source = open_source or finder.open
        self.policy = policy
        self.stats = CaptureStats()
        self._frame_bytes = frame_bytes_for_ms(settings.frame_ms)

    async def run(self, stop: asyncio.Event) -> None:
        """Capture until ``stop`` is set; the last partial frame is handed on at the end."""
        backoff = Backoff(self.policy)
        while not stop.is_set():
            self.stats.last_attempt_at = time.monotonic()
            try:
                source = await self.open_source()
            except NoDevice as exc:
                self.stats.last_attempt_at = time.monotonic()
                self._waiting(str(exc))
                await _sleep_unless(stop, backoff.next_delay())
                continue
            self.stats.opens += 1
            self.stats.last_attempt_at = time.monotonic()
            try:
                await _until_stopped(self._pump(source, backoff), stop)
            except DeviceLost as exc:
                self.stats.losses += 1
                log.warning("capture stopped: %s; looking for the device again", exc)
                self._waiting(str(exc))
            except (AudioSourceError, ValueError) as exc:
                if str(exc) != self.stats.reason:  # once per cause, not at every retry
                    log.error("capture failed: %s", exc)
                self._waiting(str(exc))
            finally:
                await source.aclose()
            if not stop.is_set():
                await _sleep_unless(stop, backoff.next_delay())
        self.stats.state = "stopped"
        self.stats.device = ""

    async def _pump(self, source: LiveSource, backoff: Backoff) -> None:
        channel = self.settings.converter_channel
        try:
            converter = PcmConverter(source.sample_rate, source.channels, channel)
        except ValueError as exc:
            raise ValueError(
                f"EDGE_AUDIO_CHANNEL={self.settings.channel} does not fit {source.label}: {exc}"
            ) from None
        label = f"{source.label} ({_channel_label(channel, source.channels)})"
        self.stats.state, self.stats.device, self.stats.reason = "capturing", label, ""
        assembler = FrameAssembler(self._frame_bytes)
        first = True
        try:
            async for block in source:
                if first:
                    backoff.reset()
                    first = False
                if self.on_block is not None:
                    selected = block if channel == "mix" else block[:, channel : channel + 1]
                    self.on_block(source.sample_rate, selected)
                for frame in assembler.push(converter.convert(block)):
                    self._hand_on(frame)
        finally:
            for frame in assembler.push(converter.flush()):
                self._hand_on(frame)
            last = assembler.flush()
            if last is not None:
                self._hand_on(last)

    def _hand_on(self, frame: bytes) -> None:
        self.stats.frames += 1
        self.stats.bytes += len(frame)
        self.stats.last_frame_at = time.monotonic()
        self.on_frame(frame)

    def _waiting(self, reason: str) -> None:
        if self.stats.state != "waiting for device" or self.stats.reason != reason:
            log.info("waiting for a device: %s", reason)
        self.stats.state, self.stats.device, self.stats.reason = "waiting for device", "", reason


def _channel_label(channel: int | str, channels: int) -> str:
    if channel == "mix":
        return "mono" if channels == 1 else f"mix of {channels} ch"
    return f"ch {int(channel) + 1} of {channels}"


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _until_stopped(work: Awaitable[None], stop: asyncio.Event) -> None:
    """Run ``work`` until it ends (its exception propagates) or ``stop`` is set (cancelled)."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if not task.cancelled():
        task.result()

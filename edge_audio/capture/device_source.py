"""Live capture from a sound device through sounddevice (PortAudio): :class:`DeviceSource`.

A thin adapter with the :class:`~edge_audio.capture.sources.AudioSource` protocol. PortAudio calls
:meth:`DeviceSource._callback` on its own thread; the callback only copies the block and hands
it to the event loop with ``loop.call_soon_threadsafe``: it never blocks, never waits for the
loop. The loop side keeps a bounded queue (the oldest block goes when it is full, counted).
The device is lost when the stream ends by itself (PortAudio's finished callback: the node or
card went away) or when no block arrives for ``stall_s`` seconds: iteration then raises
:class:`DeviceLost`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import numpy as np

from edge_audio.capture.sources import AudioSourceError, Block
from edge_audio.discovery.openplan import OpenPlan
from edge_audio.discovery.probe import (
    OPEN_STREAMS,
    PORTAUDIO_LOCK,
    DiscoveryError,
    sounddevice_module,
)

log = logging.getLogger(__name__)

QUEUE_BLOCKS = 50
"""Blocks waiting for the event loop before the oldest is dropped (5 s of 100 ms blocks)."""


class DeviceLost(AudioSourceError):
    """The device stopped delivering audio: unplugged, PipeWire restarted, or stalled."""


class DeviceSource:
    """Captures float32 blocks from one device according to an :class:`OpenPlan`."""

    def __init__(self, plan: OpenPlan, block_frames: int, stall_s: float = 3.0) -> None:
        """Nothing is opened until :meth:`open`."""
        if block_frames <= 0 or stall_s <= 0:
            raise ValueError("block_frames and stall_s must be positive")
        self.plan = plan
        self.block_frames = block_frames
        self.stall_s = stall_s
        self.overflows = 0
        """Blocks PortAudio flagged as overflowed (input lost before the callback ran)."""
        self.dropped_blocks = 0
        """Blocks dropped because the event loop did not keep up."""
        self.blocks = 0
        self._stream: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[Block | None] = asyncio.Queue(QUEUE_BLOCKS)
        self._closing = False

    @property
    def sample_rate(self) -> int:
        """The rate the stream was opened with."""
        return self.plan.samplerate

    @property
    def channels(self) -> int:
        """The channels the stream was opened with."""
        return self.plan.channels

    async def open(self) -> None:
        """Open and start the stream (in a thread: PortAudio may take a moment).

        Raises :class:`AudioSourceError` when PortAudio refuses.
        """
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self._open_blocking)
        log.info(
            "capturing from %s (%s, %d Hz, %d ch)",
            self.plan.label,
            self.plan.device_name,
            self.plan.samplerate,
            self.plan.channels,
        )

    def _open_blocking(self) -> None:
        try:
            sd = sounddevice_module()
        except DiscoveryError as exc:
            raise AudioSourceError(str(exc)) from None
        with PORTAUDIO_LOCK, temporary_environment(self.plan.env):
            try:
                stream = sd.RawInputStream(
                    device=self.plan.device_index,
                    channels=self.plan.channels,
                    samplerate=self.plan.samplerate,
                    blocksize=self.block_frames,
                    dtype="float32",
                    latency="high",
                    callback=self._callback,
                    finished_callback=self._finished,
                )
                stream.start()
            except (sd.PortAudioError, ValueError) as exc:
                raise AudioSourceError(f"cannot open {self.plan.label}: {exc}") from None
            OPEN_STREAMS.add(id(self))
        self._stream = stream

    def _callback(self, indata: Any, frames: int, when: Any, status: Any) -> None:
        """PortAudio's thread: copy the raw block into an array and hand it over; nothing
        else (no waiting, no locks)."""
        if status.input_overflow:
            self.overflows += 1
        block = np.frombuffer(indata, dtype=np.float32).reshape(frames, self.plan.channels)
        self._hand_over(block.copy())

    def _finished(self) -> None:
        """PortAudio's thread: the stream stopped (closed by us, or the device went away)."""
        self._hand_over(None)

    def _hand_over(self, block: Block | None) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: shutting down
            loop.call_soon_threadsafe(self._deliver, block)

    def _deliver(self, block: Block | None) -> None:
        """The event loop's side: queue the block, dropping the oldest when full."""
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped_blocks += 1
        self._queue.put_nowait(block)

    async def __aiter__(self) -> AsyncIterator[Block]:
        """Yield blocks until :meth:`close`; raise :class:`DeviceLost` when the device goes."""
        if self._stream is None:
            raise RuntimeError("call open() first")
        while True:
            try:
                async with asyncio.timeout(self.stall_s):
                    block = await self._queue.get()
            except TimeoutError:
                raise DeviceLost(
                    f"no audio from {self.plan.label} for {self.stall_s:g} s (stalled)"
                ) from None
            if block is None:
                if self._closing:
                    return
                raise DeviceLost(f"{self.plan.label} stopped (unplugged, or PipeWire restarted)")
            self.blocks += 1
            yield block

    def close(self) -> None:
        """Stop and close the stream; safe to call more than once."""
        self._closing = True
        stream, self._stream = self._stream, None
        if stream is None:
            return
        started = time.monotonic()
        with PORTAUDIO_LOCK:
            with contextlib.suppress(Exception):
                stream.abort(ignore_errors=True)
                stream.close(ignore_errors=True)
            OPEN_STREAMS.discard(id(self))
        log.debug("closed %s in %.3f s", self.plan.label, time.monotonic() - started)

    async def aclose(self) -> None:
        """:meth:`close` in a thread (closing a stream waits for PortAudio's thread)."""
        await asyncio.to_thread(self.close)


@contextlib.contextmanager
def temporary_environment(env: Mapping[str, str]) -> Iterator[None]:
    """Set ``env`` in the process environment while the stream opens, then restore it."""
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

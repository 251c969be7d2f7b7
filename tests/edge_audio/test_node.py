"""The audio node's run loop in-process against a real edge-server, with a scripted source in
place of a sound card: refusals, device loss and return, systemd notifications, clean stop.
(The same loop with a real PipeWire: tests/edge_audio/test_node_pipewire.py.)"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge_audio.capture.device_source import DeviceLost
from edge_audio.capture.loop import NoDevice
from edge_audio.node import FLOW_WINDOW_S, AudioNode
from edge_audio.settings import NodeSettings
from edge_server.contract.server_replies import is_fatal
from edge_server.contract.systemd_notify import Notifier
from edge_server.contract.uplink import MAX_DEVICE_FIELD, build_hello, parse_hello
from tests.helpers.live_server import LiveServer
from tests.helpers.pipewire_session import UplinkSpy
from tests.helpers.waiting import wait_until

STEP = 20.0


class FakeSource:
    """48 kHz stereo sine in 100 ms blocks at real time; can be 'unplugged' after N blocks."""

    def __init__(self, lose_after: int | None = None, amplitude: float = 0.3) -> None:
        self.sample_rate = 48000
        self.channels = 2
        self.label = "fake:mixer"
        self.lose_after = lose_after
        self.closed = False
        t = np.arange(4800) / 48000
        tone = (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        self.block = np.stack([tone, tone], axis=1)

    async def __aiter__(self) -> AsyncIterator[np.ndarray]:
        n = 0
        while True:
            if self.lose_after is not None and n >= self.lose_after:
                raise DeviceLost("fake:mixer unplugged")
            await asyncio.sleep(0.1)
            n += 1
            yield self.block

    async def aclose(self) -> None:
        self.closed = True


class Script:
    """Successive results of 'find and open the device': a source, NoDevice (a str), or
    NoDevice after a while (a float: seconds that discovery takes)."""

    def __init__(self, *steps: FakeSource | str | float) -> None:
        self.steps = list(steps)
        self.opened: list[FakeSource] = []

    async def __call__(self) -> FakeSource:
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, float):
            await asyncio.sleep(step)
            raise NoDevice("unplugged")
        if isinstance(step, str):
            raise NoDevice(step)
        if step in self.opened:
            step = FakeSource(step.lose_after)
        self.opened.append(step)
        return step


def settings(server: LiveServer, **kwargs: Any) -> NodeSettings:
    values: dict[str, Any] = {"server": server.http, "room": "main", "language": "en-US"}
    values.update(kwargs)
    return NodeSettings(**values)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> UplinkSpy:
    return UplinkSpy().install(monkeypatch)


@pytest.mark.parametrize(
    ("device", "sent"),
    [
        (None, ""),
        ("", ""),
        ("pipewire:alsa_input.usb-x (mix of 2 ch)", "pipewire:alsa_input.usb-x (mix of 2 ch)"),
        ("d" * 200, "d" * MAX_DEVICE_FIELD),
    ],
)
def test_hello_names_the_device_within_the_server_s_limit(device: str | None, sent: str) -> None:
    text = build_hello("en-US", "edge-audio", "0.1.0", device)
    assert ("device" in json.loads(text)) is bool(sent)
    assert parse_hello(text).device == sent
    assert parse_hello(build_hello(None, "edge-audio", "0.1.0")).device == ""  # old callers


@pytest.mark.parametrize(
    ("code", "close_code", "fatal"),
    [
        ("bad_hello", 4000, True),
        ("unsupported_format", 4001, True),
        ("unsupported_language", 4002, True),
        ("invalid_room", None, True),
        ("http_404", None, True),
        ("http_429", None, False),
        ("source_busy", 4009, False),
        ("shutting_down", 1001, False),
        ("recognizer_failed", 1011, False),
        ("closed", 1011, False),
        ("bad_frame", 4003, False),
    ],
)
def test_which_refusals_are_fatal(code: str, close_code: int | None, fatal: bool) -> None:
    assert is_fatal(code, close_code) is fatal


async def test_unsupported_language_is_fatal(server: LiveServer) -> None:
    node = AudioNode(settings(server, language="it-IT"), open_source=Script(FakeSource()),
                     notifier=Notifier({}))  # fmt: skip
    code = await asyncio.wait_for(node.run(), STEP)
    assert code == 3
    assert node.link.stats.state == "refused"
    assert "unsupported_language" in node.link.stats.reason


async def test_device_lost_and_back_keeps_the_same_connection(
    server: LiveServer, spy: UplinkSpy, tmp_path: Path
) -> None:
    script = Script(FakeSource(lose_after=15), "unplugged", "unplugged", FakeSource())
    node = AudioNode(settings(server), open_source=script, notifier=Notifier({}))
    run = asyncio.create_task(node.run())
    try:
        await wait_until(lambda: node.capture.stats.losses == 1, STEP, "the loss")
        lost_at = time.monotonic()
        await wait_until(lambda: node.capture.stats.opens == 2, STEP, "the device back")
        await wait_until(lambda: spy.peers["edge-audio"].audio_times[-1] > lost_at + 0.5,
                         STEP, "audio after the loss")  # fmt: skip
        peer = spy.peers["edge-audio"]
        assert len(peer.hellos) == 1, "the uplink must stay connected while the device is away"
        assert peer.hellos[0]["device"] == "fake:mixer (mix of 2 ch)"
        assert script.opened[0].closed
        assert node.link.stats.gaps == []
        assert peer.levels
        assert peer.levels[-1].level.rms_dbfs == pytest.approx(-13.5, abs=0.5)
    finally:
        node.stop()
        assert await asyncio.wait_for(run, STEP) == 0
    assert spy.peers["edge-audio"].ends == 1


async def test_without_a_device_the_node_connects_and_reports_no_signal(
    server: LiveServer, spy: UplinkSpy
) -> None:
    node = AudioNode(settings(server, no_signal_seconds=2), open_source=Script("no device here"),
                     notifier=Notifier({}))  # fmt: skip
    run = asyncio.create_task(node.run())
    try:
        await wait_until(lambda: any(e.level.no_signal for e in spy.peers["edge-audio"].levels),
                         STEP, "a no_signal level")  # fmt: skip
        peer = spy.peers["edge-audio"]
        assert peer.hellos[0]["device"] == ""
        assert peer.audio_bytes == 0
        assert node.capture.stats.state == "waiting for device"
        assert "no device here" in node.status()
    finally:
        node.stop()
        assert await asyncio.wait_for(run, STEP) == 0


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.setblocking(False)
    yield sock
    sock.close()


async def receive(sock: socket.socket, into: list[tuple[float, str]]) -> None:
    """Read datagrams as systemd would (promptly: the socket's queue is short)."""
    loop = asyncio.get_running_loop()
    while True:
        data = await loop.sock_recv(sock, 4096)
        into.extend((time.monotonic(), line) for line in data.decode().splitlines())


async def test_systemd_ready_status_and_watchdog_only_while_audio_flows(
    server: LiveServer, notify_socket: socket.socket, tmp_path: Path
) -> None:
    env = {"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "400000",
           "WATCHDOG_PID": str(os.getpid())}  # fmt: skip
    script = Script(FakeSource(lose_after=12), 3.0, FakeSource())
    node = AudioNode(settings(server), open_source=script, notifier=Notifier(env))
    lines: list[tuple[float, str]] = []
    reader = asyncio.create_task(receive(notify_socket, lines))
    run = asyncio.create_task(node.run())
    try:
        await wait_until(lambda: node.capture.stats.losses == 1, STEP, "the loss")
        lost_at = time.monotonic()
        await wait_until(lambda: node.capture.stats.opens == 2, STEP, "the device back")
        back_at = time.monotonic()
        await asyncio.sleep(1.0)
    finally:
        node.stop()
        assert await asyncio.wait_for(run, STEP) == 0
        await asyncio.sleep(0.1)
        reader.cancel()
    texts = [line for _, line in lines]
    assert texts.count("READY=1") == 1
    ready_at = next(t for t, line in lines if line == "READY=1")
    dogs = [t for t, line in lines if line == "WATCHDOG=1"]
    assert all(t >= ready_at for t in dogs)
    assert any(t < lost_at for t in dogs)
    assert any(t > back_at for t in dogs)
    # No WATCHDOG=1 while nothing flowed (2 s of grace after the last frame).
    silent = [t for t in dogs if lost_at + 2.2 < t < back_at - 0.1]
    assert not silent, "WATCHDOG=1 sent while capture was down"
    statuses = [line for line in texts if line.startswith("STATUS=")]
    assert any("capturing fake:mixer" in s and "server connected" in s for s in statuses)
    assert any("waiting for device" in s for s in statuses)
    assert "STOPPING=1" in texts


async def test_no_mixer_at_boot_ready_waiting_and_fed_then_pings_only_while_audio_flows(
    server: LiveServer, notify_socket: socket.socket, tmp_path: Path
) -> None:
    """The mixer is off at boot: READY=1 at once with a "waiting for audio" STATUS, and the
    watchdog is fed while the node keeps looking; once audio has flowed and then stops for
    good, the pings stop (systemd restarts the node)."""
    env = {"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "400000",
           "WATCHDOG_PID": str(os.getpid())}  # fmt: skip
    absent = "no capture device matches 'Behringer|UMC' in PipeWire"
    script = Script(absent, absent, absent, FakeSource(lose_after=10), "unplugged")
    node = AudioNode(settings(server, device="Behringer|UMC"), open_source=script,
                     notifier=Notifier(env))  # fmt: skip
    lines: list[tuple[float, str]] = []
    reader = asyncio.create_task(receive(notify_socket, lines))
    run = asyncio.create_task(node.run())
    try:
        await wait_until(node.flowed, STEP, "audio from the mixer plugged in later")
        flowed_at = time.monotonic()
        await wait_until(lambda: node.capture.stats.losses == 1, STEP, "the mixer gone")
        lost_at = time.monotonic()
        await asyncio.sleep(FLOW_WINDOW_S + 3.0)
        end_at = time.monotonic()
    finally:
        node.stop()
        assert await asyncio.wait_for(run, STEP) == 0
        await asyncio.sleep(0.1)
        reader.cancel()
    texts = [line for _, line in lines]
    assert texts.count("READY=1") == 1
    ready_at = next(t for t, line in lines if line == "READY=1")
    assert ready_at < flowed_at, "ready before any audio: the boot does not wait for the mixer"
    ready_status = texts[texts.index("READY=1") + 1]
    assert ready_status.startswith("STATUS=waiting for audio from 'Behringer|UMC'"), ready_status
    waiting = [line for line in texts if line.startswith("STATUS=waiting for audio")]
    assert any(absent in line for line in waiting), waiting
    dogs = [t for t, line in lines if line == "WATCHDOG=1"]
    assert len([t for t in dogs if ready_at <= t < flowed_at]) >= 3, "fed while waiting"
    assert any(flowed_at <= t <= lost_at for t in dogs), "fed while audio flows"
    after = [t for t in dogs if lost_at + FLOW_WINDOW_S + 0.3 < t <= end_at]
    assert not after, "WATCHDOG=1 after audio stopped for good"
    statuses = [line for line in texts if line.startswith("STATUS=")]
    assert any(s.startswith("STATUS=capturing fake:mixer") for s in statuses)
    assert any(s.startswith("STATUS=waiting for device (unplugged)") for s in statuses)

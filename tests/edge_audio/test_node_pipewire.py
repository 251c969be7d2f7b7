"""The audio node against a REAL PipeWire started by this module
(tests/helpers/pipewire_session.py): a virtual mixer named like a Behringer UMC204HD among
decoys, real speech played into it with paplay (paced in real time), a real edge-server
receiving it.

Discovery picks the mixer by pattern; captions of the speech arrive; and each fault is
recovered without restarting edge-audio: the server killed and restarted on the same port, the
mixer unplugged and plugged back, PipeWire itself restarted, the uplink cut for 10 s (with a
buffer that fits the outage and one that does not)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from edge_audio.node import AudioNode
from edge_audio.settings import NodeSettings
from edge_server.contract.audio_format import BYTES_PER_SECOND
from edge_server.contract.systemd_notify import Notifier
from tests.helpers.live_server import LiveServer, LiveServers, make_settings
from tests.helpers.node_process import NodeProcess
from tests.helpers.pipewire_session import (
    FEED,
    MIXER,
    MIXER_OUTPUT,
    PATTERN,
    CuttableProxy,
    Layout,
    PipeWireSession,
    UplinkSpy,
    environment,
    free_port,
    write_speech,
    write_tone,
)
from tests.helpers.processes import EDGE_AUDIO
from tests.helpers.waiting import wait_until
from tests.helpers.wire import recv_json

pytestmark = [pytest.mark.pipewire, pytest.mark.speech]
STEP = 30.0  # seconds: the bound on every await


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def speech(
    librivox_files: list[tuple[Path, str]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """48 kHz stereo WAVs of the LibriVox readings: each alone, and all five in a row."""
    folder = tmp_path_factory.mktemp("speech")
    wavs = {}
    for index, (wav, _) in enumerate(librivox_files):
        wavs[str(index)] = folder / f"{index}.wav"
        write_speech(wavs[str(index)], [wav], pause_s=1.0)
    wavs["all"] = folder / "all.wav"
    write_speech(wavs["all"], [wav for wav, _ in librivox_files])
    wavs["tone"] = folder / "tone.wav"
    write_tone(wavs["tone"], 60.0)
    return wavs


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> UplinkSpy:
    return UplinkSpy().install(monkeypatch)


@contextlib.asynccontextmanager
async def captions(server: LiveServer, room: str = "main") -> AsyncIterator[ClientConnection]:
    async with connect(f"{server.ws}/ws/captions/{room}?backlog=0", open_timeout=10) as ws:
        assert (await recv_json(ws))["type"] == "status"
        yield ws


async def final_matching(
    ws: ClientConnection, words: tuple[str, ...], timeout: float = STEP
) -> dict[str, Any]:
    """The first final containing any of ``words``; fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no final with {words} in {timeout:g} s; got {seen}")
        try:
            msg = await recv_json(ws, timeout=left)
        except TimeoutError:
            continue
        if msg["type"] == "final":
            seen.append(msg["text"])
            if any(word in msg["text"] for word in words):
                return msg


# --- discovery --------------------------------------------------------------------------------


async def devices_json(pw: PipeWireSession, prefer: str) -> tuple[int, dict[str, Any]]:
    proc = await asyncio.create_subprocess_exec(
        *EDGE_AUDIO, "devices", "--json", "--prefer", prefer,
        env=pw.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), STEP)
    assert proc.returncode in (0, 1), err.decode()
    return proc.returncode, json.loads(out)


async def test_discovery_picks_the_mixer_among_decoys(pw: PipeWireSession, layout: Layout) -> None:
    code, found = await devices_json(pw, PATTERN)
    assert code == 0
    assert found["pipewire"] is True
    chosen = found["chosen"]
    assert (chosen["backend"], chosen["target"], chosen["monitor"]) == ("pipewire", MIXER, False)
    assert chosen["description"] == "Behringer UMC204HD 192k"
    assert chosen["target"] != str(chosen["object_id"])  # never the wpctl id
    by_name = {(c["name"], c["monitor"]): c for c in found["candidates"]}
    umc_monitor = by_name[(MIXER_OUTPUT, True)]  # matches "UMC", but it is what is played
    assert not umc_monitor["eligible"]
    assert any("monitor of a sink" in r for r in umc_monitor["reasons"])
    hdmi = by_name[("alsa_output.pci-0000_00_1f.3.hdmi-stereo", True)]
    assert not hdmi["eligible"]
    assert any("HDMI" in r for r in hdmi["reasons"])
    # The built-in source is PipeWire's default: what "default" would take, not the pattern.
    code, default = await devices_json(pw, "default")
    assert default["chosen"]["target"] == "alsa_input.pci-0000_00_1f.3.analog-stereo"
    code, monitor = await devices_json(pw, "monitor:HDMI")
    assert (monitor["chosen"]["target"], monitor["chosen"]["monitor"]) == (
        "alsa_output.pci-0000_00_1f.3.hdmi-stereo", True,
    )  # fmt: skip
    code, nothing = await devices_json(pw, "Focusrite")
    assert code == 1
    assert nothing["chosen"] is None


# --- live capture to captions ------------------------------------------------------------------


async def test_speech_into_the_mixer_becomes_captions(
    pw: PipeWireSession, layout: Layout, speech: dict[str, Path], server: LiveServer,
    spy: UplinkSpy, tmp_path: Path,
) -> None:  # fmt: skip
    async with captions(server) as ws:
        node = await NodeProcess(pw, tmp_path, server.http).start()
        try:
            await node.wait_log("audio flows from")  # audio flows from the mixer
            pw.play(MIXER_OUTPUT, speech["tone"])  # a decoy that matches "UMC": must not be heard
            pw.play(FEED, speech["1"])
            final = await final_matching(ws, ("young", "man", "disposed"))
        finally:
            code = await node.stop()
    assert code == 0, node.text()
    peer = spy.peers["edge-audio"]
    assert peer.hellos[0]["device"] == f"pipewire:{MIXER} (mix of 2 ch)"
    assert peer.ends == 1, "SIGTERM must end the stream cleanly"
    assert final["lang"] == "en-US"
    assert any(level.level.rms_dbfs > -40 for level in peer.levels), "speech is loud enough"
    assert "WATCHDOG=1" in node.notes
    assert any(n.startswith("STATUS=capturing pipewire:") for n in node.notes)
    assert "STOPPING=1" in node.notes


# --- faults -----------------------------------------------------------------------------------


async def test_server_killed_and_restarted_on_the_same_port(
    pw: PipeWireSession, layout: Layout, speech: dict[str, Path], spy: UplinkSpy, tmp_path: Path,
    live_server: LiveServers,
) -> None:  # fmt: skip
    port = free_port()
    settings = make_settings(tmp_path / "state")
    first = await live_server(settings, port=port)
    node = await NodeProcess(pw, tmp_path, f"http://127.0.0.1:{port}").start()
    try:
        await node.wait_log("audio flows from")
        pw.play(FEED, speech["all"])
        peer = spy.peers["edge-audio"]
        await wait_until(lambda: peer.audio_bytes > 2 * BYTES_PER_SECOND, what="2 s of audio")
        await asyncio.wait_for(first.stop(), STEP)
        await asyncio.sleep(2.0)
        second = await live_server(settings, port=port)
        back_at = time.monotonic()
        async with captions(second) as ws:
            await wait_until(
                lambda: peer.audio_times[-1] > back_at, 10.0, "audio at the new server"
            )
            resumed_in = next(t for t in peer.audio_times if t > back_at) - back_at
            assert resumed_in <= 3.0, f"streaming resumed {resumed_in:.1f} s after the server"
            [gap] = [g for t, g in peer.gaps if t > back_at]
            assert gap.offline_s >= 2.0
            assert gap.dropped_s == 0.0  # the outage fitted in the buffer
            assert len(peer.hellos) == 2
            # Captions continue from the new server.
            final = await final_matching(ws, ("",))
            assert final["text"]
    finally:
        code = await node.stop()
    assert code == 0, node.text()
    assert "uplink lost" in node.text() or "reconnecting" in node.text()


async def test_mixer_unplugged_and_plugged_back(
    pw: PipeWireSession, layout: Layout, speech: dict[str, Path], server: LiveServer,
    spy: UplinkSpy, tmp_path: Path,
) -> None:  # fmt: skip
    async with captions(server) as ws:
        node = await NodeProcess(pw, tmp_path, server.http).start()
        try:
            await node.wait_log("audio flows from")
            pw.play(FEED, speech["1"])
            await final_matching(ws, ("young", "man", "disposed"))
            layout.unload_mixer(pw)  # the USB cable pulled
            await node.wait_log("capture stopped", timeout=10)
            peer = spy.peers["edge-audio"]
            await asyncio.sleep(1.5)
            assert time.monotonic() - peer.audio_times[-1] > 1.0, "no audio while unplugged"
            layout.load_mixer(pw)  # plugged back in
            await node.wait_log("capturing from", count=2, timeout=15)
            pw.play(FEED, speech["4"])
            final = await final_matching(ws, ("might", "even", "made", "amiable", "himself"))
            assert final["text"]
        finally:
            code = await node.stop()
    assert code == 0, node.text()
    assert len(spy.peers["edge-audio"].hellos) == 1, "the uplink stays connected meanwhile"


async def test_mixer_off_at_boot_ready_and_waiting_then_watchdog_only_while_audio_flows(
    pw: PipeWireSession, layout: Layout, server: LiveServer, tmp_path: Path
) -> None:
    """``edge-audio run`` as systemd starts it, with the mixer off: READY=1 and a "waiting for
    audio" STATUS at once, WATCHDOG=1 while it waits; the mixer switched on, audio flows; the
    mixer off again for good, the pings stop (WATCHDOG_USEC=2 s: a ping a second)."""
    layout.unload_mixer(pw)  # the mixer is off when the Pi boots
    node = await NodeProcess(pw, tmp_path, server.http).start()
    try:
        await node.wait_note("READY=1")
        await wait_until(lambda: node.notes.count("WATCHDOG=1") >= 3, STEP, "fed while waiting")
        assert not any("audio flows" in line for line in node.log), node.text()
        waiting = [n for n in node.notes if n.startswith("STATUS=waiting for audio from")]
        assert waiting, node.notes
        assert f"{PATTERN!r}" in waiting[0]
        layout.load_mixer(pw)  # switched on
        await node.wait_log("audio flows from")
        await wait_until(
            lambda: any(n.startswith("STATUS=capturing pipewire:") for n in node.notes),
            STEP, "the capturing status",
        )  # fmt: skip
        layout.unload_mixer(pw)  # off again, for good
        await node.wait_log("capture stopped", timeout=10)
        await asyncio.sleep(2.5)  # the 2 s flow window, and a ping already on its way
        pings = node.notes.count("WATCHDOG=1")
        await asyncio.sleep(3.0)
        assert node.notes.count("WATCHDOG=1") == pings, "WATCHDOG=1 after audio stopped"
        assert any(n.startswith("STATUS=waiting for device") for n in node.notes)
    finally:
        code = await node.stop()
    assert code == 0, node.text()
    assert node.notes.count("READY=1") == 1


async def test_pipewire_restarted(
    pw: PipeWireSession, layout: Layout, speech: dict[str, Path], server: LiveServer,
    spy: UplinkSpy, tmp_path: Path,
) -> None:  # fmt: skip
    async with captions(server) as ws:
        node = await NodeProcess(pw, tmp_path, server.http).start()
        try:
            await node.wait_log("audio flows from")
            pw.play(FEED, speech["1"])
            await final_matching(ws, ("young", "man", "disposed"))
            await asyncio.wait_for(asyncio.to_thread(pw.restart), STEP)
            layout.modules.clear()  # the restart took every virtual device with it
            layout.load(pw)
            await node.wait_log("capture stopped", timeout=10)
            await node.wait_log("capturing from", count=2, timeout=20)
            pw.play(FEED, speech["4"])
            final = await final_matching(ws, ("might", "even", "made", "amiable", "himself"))
            assert final["text"]
        finally:
            code = await node.stop()
    assert code == 0, node.text()
    assert len(spy.peers["edge-audio"].hellos) == 1, "the uplink stays connected meanwhile"


async def test_uplink_cut_for_10_s_buffers_within_bounds(
    pw: PipeWireSession, layout: Layout, speech: dict[str, Path], server: LiveServer,
    spy: UplinkSpy,
) -> None:  # fmt: skip
    """Two nodes at once: one whose buffer (30 s) holds the outage, one whose (2 s) does not."""
    assert server.server.port is not None
    proxies = {name: await CuttableProxy(server.server.port).start() for name in ("fits", "drops")}
    nodes = {}
    for name, seconds in (("fits", 30.0), ("drops", 2.0)):
        settings = NodeSettings(
            server=proxies[name].url, room=name, language="en-US", device=PATTERN,
            buffer_seconds=seconds, ping_interval_s=1.0, ping_timeout_s=2.0, reconnect_max_s=1.0,
        )  # fmt: skip
        node = AudioNode(settings, notifier=Notifier({}))
        node.link.settings = dataclasses.replace(node.link.settings, client_name=f"node-{name}")
        nodes[name] = node
    pw.play(FEED, speech["tone"])
    runs = {}
    with environment(pw.env):
        try:
            for name, node in nodes.items():
                runs[name] = asyncio.create_task(node.run())
                peer = spy.peers[f"node-{name}"]
                await wait_until(
                    lambda peer=peer: peer.audio_bytes > BYTES_PER_SECOND, what="streaming"
                )
            for proxy in proxies.values():
                proxy.cut()
            cut_at = time.monotonic()
            await asyncio.sleep(10.0)
            for proxy in proxies.values():
                proxy.restore()
            back_at = time.monotonic()
            for name in nodes:
                gaps_of = spy.peers[f"node-{name}"].gaps
                await wait_until(
                    lambda gaps_of=gaps_of: any(t > back_at for t, _ in gaps_of), 8.0, "a gap"
                )
            fits, drops = nodes["fits"], nodes["drops"]
            fits_peer = spy.peers["node-fits"]

            def unsent() -> int:
                """Captured audio the server has not received (in flight or still buffered)."""
                return fits.capture.stats.bytes - fits_peer.audio_bytes

            # The backlog is delivered: all but what was in flight on the dead connection
            # (the node keeps its socket buffers small so that it stays in its own buffer).
            await wait_until(lambda: unsent() < 1.5 * BYTES_PER_SECOND, 15.0, "the backlog")
            lost_in_flight = unsent()
            gaps = {
                name: next(g for t, g in spy.peers[f"node-{name}"].gaps if t > back_at)
                for name in nodes
            }
        finally:
            for node in nodes.values():
                node.stop()
            codes = {name: await asyncio.wait_for(run, STEP) for name, run in runs.items()}
            for proxy in proxies.values():
                await proxy.close()
    assert codes == {"fits": 0, "drops": 0}
    second = BYTES_PER_SECOND
    outage = back_at - cut_at
    # A buffer that holds the outage: nothing dropped, the backlog delivered (all but what was
    # in flight on the dead connection: the socket buffers are kept small for that).
    assert gaps["fits"].dropped_s == 0.0
    assert outage - 2.5 <= gaps["fits"].offline_s <= outage + 6  # the ping timeout's estimate
    assert fits.buffer.dropped_bytes == 0
    assert 7 * second <= fits.buffer.peak_bytes <= fits.buffer.max_bytes
    assert lost_in_flight < 1.5 * second, f"{lost_in_flight / second:.1f} s lost in flight"
    # A small buffer: the oldest audio dropped, memory bounded by the configured bytes.
    assert drops.buffer.max_bytes == 2 * second
    assert drops.buffer.peak_bytes <= drops.buffer.max_bytes
    assert gaps["drops"].dropped_s >= outage - 2 - 4
    assert gaps["drops"].dropped_s == pytest.approx(drops.buffer.dropped_bytes / second, abs=0.01)

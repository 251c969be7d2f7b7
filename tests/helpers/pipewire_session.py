"""A real PipeWire for tests (see ../shared/env-notes.md): a private XDG_RUNTIME_DIR, a session
bus, ``pipewire``, ``wireplumber`` and ``pipewire-pulse``; virtual devices made with ``pactl``.

Every process started is recorded by PID and stopped by PID; the runtime directory is removed.
Also: a mixer layout named like real hardware with decoys, a server spy that records what the
real edge-server's uplink protocol received, a server on a chosen port, and a cuttable proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from edge_audio.capture.device_source import temporary_environment
from edge_server.contract.uplink_server import (
    AudioReceived,
    AudioUplinkProtocol,
    EndReceived,
    GapReceived,
    HelloReceived,
    LevelReceived,
)

BINARIES = (
    "dbus-daemon",
    "pipewire",
    "wireplumber",
    "pipewire-pulse",
    "pactl",
    "paplay",
    "pw-dump",
)
_CLEAN_ENV = ("PIPEWIRE_NODE", "PIPEWIRE_PROPS", "PIPEWIRE_REMOTE", "PULSE_SERVER", "PULSE_SOURCE")

MIXER = "alsa_input.usb-BEHRINGER_UMC204HD_192k-00.analog-stereo"
MIXER_DESCRIPTION = "Behringer UMC204HD 192k"
MIXER_OUTPUT = "alsa_output.usb-BEHRINGER_UMC204HD_192k-00.analog-surround-40"
FEED = "edge_test_feed"
"""The null sink speech is played into; the mixer source is remapped from its monitor."""
PATTERN = "Behringer|UMC|Focusrite|USB Audio"


def missing_binaries() -> list[str]:
    """The programs a PipeWire session needs that are not installed."""
    return [name for name in BINARIES if shutil.which(name) is None]


class PipeWireSession:
    """The daemons and the virtual devices of one test module."""

    def __init__(self) -> None:
        self.runtime_dir: Path | None = None
        self.env: dict[str, str] = {}
        self.pids: list[int] = []
        self._procs: list[subprocess.Popen[bytes]] = []
        self._players: list[subprocess.Popen[bytes]] = []
        self._dbus_pid: int | None = None

    def start(self, timeout: float = 20.0) -> PipeWireSession:
        """Start the session bus and the three daemons; wait until pulse answers."""
        runtime = Path(tempfile.mkdtemp(prefix="edge-pw-"))
        runtime.chmod(0o700)
        self.runtime_dir = runtime
        env = {k: v for k, v in os.environ.items() if k not in _CLEAN_ENV}
        env["XDG_RUNTIME_DIR"] = str(runtime)
        env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={runtime}/bus"
        self.env = env
        dbus = subprocess.run(
            ["dbus-daemon", "--session", "--fork", f"--address=unix:path={runtime}/bus",
             "--print-pid=1"],
            env=env, capture_output=True, text=True, check=True, timeout=10,
        )  # fmt: skip
        self._dbus_pid = int(dbus.stdout.split()[0])
        self.pids.append(self._dbus_pid)
        self._start_daemons(timeout)
        return self

    def _start_daemons(self, timeout: float) -> None:
        runtime = self.runtime_dir
        assert runtime is not None
        for exe in ("pipewire", "wireplumber", "pipewire-pulse"):
            log = (runtime / f"{exe}.log").open("ab")
            proc = subprocess.Popen([exe], env=self.env, stdout=log, stderr=subprocess.STDOUT)
            log.close()
            self._procs.append(proc)
            self.pids.append(proc.pid)
            if exe == "pipewire":
                self._wait_for(lambda: (runtime / "pipewire-0").exists(), 10, "pipewire's socket")
        self._wait_for(self._pulse_ready, timeout, "pipewire-pulse and wireplumber")

    def restart(self, timeout: float = 20.0) -> None:
        """Stop the three daemons (by PID) and start them again: every virtual device and
        every stream is gone, as after ``systemctl --user restart pipewire``."""
        for proc in [*self._players, *reversed(self._procs)]:
            stop_child(proc)
            if proc.pid in self.pids:
                self.pids.remove(proc.pid)
        self._players.clear()
        self._procs.clear()
        self._start_daemons(timeout)

    def _pulse_ready(self) -> bool:
        done = subprocess.run(["pactl", "info"], env=self.env, capture_output=True, timeout=5)
        if done.returncode != 0:
            return False
        clients = [o for o in self.pw_dump() if o.get("type") == "PipeWire:Interface:Client"]
        names = {(c.get("info") or {}).get("props", {}).get("application.name") for c in clients}
        return "WirePlumber" in names

    def _wait_for(self, check: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc in self._procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{proc.args[0]} exited: {self.logs()}")
            if check():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{what} not ready within {timeout:g} s: {self.logs()}")

    def logs(self) -> str:
        """The daemons' output so far (for failure messages)."""
        if self.runtime_dir is None:
            return ""
        parts = []
        for log in sorted(self.runtime_dir.glob("*.log")):
            parts.append(f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        """Stop players and daemons by PID, then remove the runtime directory."""
        for proc in [*self._players, *reversed(self._procs)]:
            stop_child(proc)
        self._players.clear()
        self._procs.clear()
        if self._dbus_pid is not None:
            _stop_pid(self._dbus_pid)
            self._dbus_pid = None
        if self.runtime_dir is not None:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)
            self.runtime_dir = None

    # --- tools --------------------------------------------------------------------------------

    def pactl(self, *args: str) -> str:
        """Run ``pactl`` in the session; its output."""
        done = subprocess.run(
            ["pactl", *args], env=self.env, capture_output=True, text=True, timeout=10
        )
        if done.returncode != 0:
            raise RuntimeError(f"pactl {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout.strip()

    def pw_dump(self) -> list[dict[str, Any]]:
        """``pw-dump``'s objects."""
        done = subprocess.run(
            ["pw-dump"], env=self.env, capture_output=True, timeout=10, check=True
        )
        data: list[dict[str, Any]] = json.loads(done.stdout)
        return data

    def load(self, module: str, *args: str) -> int:
        """Load a pulse module; its id."""
        return int(self.pactl("load-module", module, *args))

    def unload(self, module_id: int) -> None:
        """Unload a module loaded by :meth:`load`."""
        self.pactl("unload-module", str(module_id))

    def null_sink(self, name: str, description: str, channels: int = 2) -> int:
        """A sink (its monitor is a capture candidate)."""
        return self.load(
            "module-null-sink", f"sink_name={name}", f"channels={channels}", "rate=48000",
            f"sink_properties='device.description=\"{description}\"'",
        )  # fmt: skip

    def virtual_source(self, name: str, description: str) -> int:
        """An ``Audio/Source/Virtual`` node (silent unless something is linked into it)."""
        return self.load(
            "module-null-sink", "media.class=Audio/Source/Virtual", f"sink_name={name}",
            "channel_map=front-left,front-right",
            f"sink_properties='device.description=\"{description}\"'",
        )  # fmt: skip

    def remap_source(self, name: str, master: str, description: str) -> int:
        """An ``Audio/Source`` carrying ``master`` (e.g. a feed sink's monitor)."""
        return self.load(
            "module-remap-source", f"master={master}", f"source_name={name}",
            f"source_properties='device.description=\"{description}\"'",
        )  # fmt: skip

    def play(self, sink: str, wav: Path) -> subprocess.Popen[bytes]:
        """``paplay`` ``wav`` into ``sink`` (paced in real time); stopped at teardown."""
        proc = subprocess.Popen(
            ["paplay", f"--device={sink}", str(wav)],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        self._players.append(proc)
        return proc

    def stop_players(self) -> None:
        """Stop every ``paplay`` still running."""
        for proc in self._players:
            stop_child(proc)
        self._players.clear()


def stop_child(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a child this process started, killing it if it does not stop within 5 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _stop_pid(pid: int) -> None:
    """Stop a process that is not our child (the forked session bus) by its PID."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@dataclass
class Layout:
    """The room's devices: a mixer named like a Behringer UMC204HD, fed by a test sink, and
    decoys: the UMC's own output (its monitor matches the pattern), an HDMI output and a
    built-in source that is the default."""

    modules: dict[str, int] = field(default_factory=dict)

    def load(self, pw: PipeWireSession) -> Layout:
        """Create the devices."""
        self.modules["builtin"] = pw.virtual_source(
            "alsa_input.pci-0000_00_1f.3.analog-stereo", "Built-in Audio Analog Stereo"
        )
        self.modules["hdmi"] = pw.null_sink(
            "alsa_output.pci-0000_00_1f.3.hdmi-stereo", "HDMI Output"
        )
        self.modules["umc_out"] = pw.null_sink(
            MIXER_OUTPUT, "Behringer UMC204HD 192k Analog Surround 4.0", channels=4
        )
        self.modules["feed"] = pw.null_sink(FEED, "Test signal feed")
        self.load_mixer(pw)
        pw.pactl("set-default-source", "alsa_input.pci-0000_00_1f.3.analog-stereo")
        return self

    def load_mixer(self, pw: PipeWireSession) -> None:
        """(Re)create the mixer source: a USB card plugged in."""
        self.modules["mixer"] = pw.remap_source(MIXER, f"{FEED}.monitor", MIXER_DESCRIPTION)

    def unload_mixer(self, pw: PipeWireSession) -> None:
        """Remove the mixer source: the USB card unplugged."""
        pw.unload(self.modules.pop("mixer"))

    def unload(self, pw: PipeWireSession) -> None:
        """Remove every device this layout made."""
        for name in list(self.modules):
            with contextlib.suppress(RuntimeError):
                pw.unload(self.modules.pop(name))


def write_speech(path: Path, wavs: list[Path], pause_s: float = 0.6) -> float:
    """Concatenate recordings (with pauses) into one 48 kHz stereo WAV; its duration."""
    parts = []
    for wav in wavs:
        data, rate = soundfile.read(wav, dtype="float32", always_2d=True)
        assert rate == 16000
        parts.append(np.repeat(data[:, :1], 3, axis=0))  # 16 kHz -> 48 kHz (sample hold is fine)
        parts.append(np.zeros((int(48000 * pause_s), 1), dtype=np.float32))
    mono = np.concatenate(parts)
    soundfile.write(path, np.repeat(mono, 2, axis=1), 48000, subtype="PCM_16")
    return len(mono) / 48000


def write_tone(path: Path, seconds: float, freq: float = 440.0, level: float = 0.25) -> None:
    """A 48 kHz stereo sine."""
    t = np.arange(int(48000 * seconds)) / 48000
    tone = (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    soundfile.write(path, np.stack([tone, tone], axis=1), 48000, subtype="PCM_16")


# --- the server side --------------------------------------------------------------------------


@dataclass
class Peer:
    """What one client (by its ``hello.client.name``) sent to the real server."""

    hellos: list[dict[str, Any]] = field(default_factory=list)
    audio_bytes: int = 0
    audio_times: list[float] = field(default_factory=list)
    """``time.monotonic()`` of each audio frame received."""
    gaps: list[tuple[float, GapReceived]] = field(default_factory=list)
    levels: list[LevelReceived] = field(default_factory=list)
    ends: int = 0


class UplinkSpy:
    """Records what the real server's uplink protocol received, per client name."""

    def __init__(self) -> None:
        self.peers: dict[str, Peer] = defaultdict(Peer)
        self._tags: dict[int, str] = {}

    def install(self, monkeypatch: Any) -> UplinkSpy:
        """Wrap :class:`AudioUplinkProtocol`'s receive methods (for this test only)."""
        receive_text = AudioUplinkProtocol.receive_text
        receive_binary = AudioUplinkProtocol.receive_binary
        spy = self

        def spy_text(proto: AudioUplinkProtocol, text: str) -> list[Any]:
            events = receive_text(proto, text)
            now = time.monotonic()
            for event in events:
                if isinstance(event, HelloReceived):
                    tag = event.hello.client_name
                    spy._tags[id(proto)] = tag
                    spy.peers[tag].hellos.append({"at": now, "device": event.hello.device})
                peer = spy.peers[spy._tags.get(id(proto), "?")]
                if isinstance(event, GapReceived):
                    peer.gaps.append((now, event))
                elif isinstance(event, LevelReceived):
                    peer.levels.append(event)
                elif isinstance(event, EndReceived):
                    peer.ends += 1
            return events

        def spy_binary(proto: AudioUplinkProtocol, data: bytes) -> list[Any]:
            events = receive_binary(proto, data)
            peer = spy.peers[spy._tags.get(id(proto), "?")]
            for event in events:
                if isinstance(event, AudioReceived):
                    peer.audio_bytes += len(event.pcm)
                    peer.audio_times.append(time.monotonic())
            return events

        monkeypatch.setattr(AudioUplinkProtocol, "receive_text", spy_text)
        monkeypatch.setattr(AudioUplinkProtocol, "receive_binary", spy_binary)
        return self


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class CuttableProxy:
    """A TCP relay on 127.0.0.1 that can be cut like a Wi-Fi drop: while cut, nothing passes
    either way and new connections hang; when restored, the connections of before are reset
    (as a router that forgot them) and new ones pass again."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._open = asyncio.Event()
        self._open.set()
        self._pairs: list[tuple[asyncio.StreamWriter, ...]] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> CuttableProxy:
        # A small receive buffer, inherited by accepted sockets: what the node sends while the
        # link is cut stays unacknowledged in the node's socket, as behind a router that drops
        # it, instead of being swallowed by the relay's kernel.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        # Ethernet-sized segments: on loopback (MTU 64 KiB) one segment would overflow it.
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1400)
        listener.bind(("127.0.0.1", 0))
        self._server = await asyncio.start_server(self._handle, sock=listener)
        self.port = listener.getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut(self) -> None:
        self._open.clear()
        for writers in self._pairs:
            for writer in writers:
                writer.transport.pause_reading()  # asyncio would otherwise buffer 128 KiB

    def restore(self) -> None:
        for writers in self._pairs:
            for writer in writers:
                writer.transport.abort()
        self._pairs.clear()
        self._open.set()

    async def close(self) -> None:
        self.restore()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._pairs.append((writer,))
        if not self._open.is_set():
            writer.transport.pause_reading()
        await self._open.wait()
        if writer.transport.is_closing():
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._pairs.append((writer, up_writer))
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(src, dst))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while True:
                await self._open.wait()
                data = await src.read(4096)
                if not data:
                    break
                await self._open.wait()  # cut meanwhile: hold the chunk (lost on restore)
                if dst.transport.is_closing():
                    return
                dst.write(data)
                await dst.drain()
        dst.transport.abort()


def environment(env: dict[str, str]) -> contextlib.AbstractContextManager[None]:
    """Set variables in this process while the block runs (in-process nodes read them)."""
    return temporary_environment(env)

"""Discovery adapter: runs ``pw-dump`` and asks PortAudio (sounddevice) for its devices.

Thin: the parsing and ranking are in :mod:`.pwdump`, :mod:`.padevices` and :mod:`.ranking`.
PortAudio reads its device list once, when it is initialized; :func:`read_portaudio`
initializes it again so a card plugged in (or a PipeWire started) since is
seen. That must not happen while a stream is open: callers discover only between captures.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from dataclasses import dataclass
from typing import Any

from edge_audio.discovery.padevices import PaDevice, parse_portaudio
from edge_audio.discovery.pwdump import PwDumpError, PwGraph, parse_pw_dump
from edge_audio.discovery.ranking import Preference, Ranking, rank

log = logging.getLogger(__name__)

PW_DUMP_TIMEOUT_S = 5.0
PORTAUDIO_LOCK = threading.Lock()
"""Held while PortAudio is initialized again or a stream is opened or closed."""
OPEN_STREAMS: set[int] = set()
"""Ids of the streams open in this process (initializing PortAudio again would close them)."""


class DiscoveryError(Exception):
    """Discovery cannot run at all (PortAudio missing); the message says what to install."""


@dataclass(frozen=True)
class Snapshot:
    """What discovery saw."""

    graph: PwGraph | None
    """PipeWire's audio nodes, None when PipeWire is not running (or pw-dump is missing)."""
    pipewire_note: str
    """``running``, or why PipeWire was not used."""
    devices: tuple[PaDevice, ...]
    """PortAudio's devices."""


def read_pipewire(timeout: float = PW_DUMP_TIMEOUT_S) -> tuple[PwGraph | None, str]:
    """Run ``pw-dump``: the graph and ``"running"``, or None and why not."""
    exe = shutil.which("pw-dump")
    if exe is None:
        return None, "pw-dump is not installed (Debian package pipewire-bin)"
    try:
        done = subprocess.run(
            [exe, "--no-colors"], capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return None, f"pw-dump did not answer within {timeout:g} s"
    except OSError as exc:
        return None, f"cannot run pw-dump: {exc}"
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        reason = said[-1] if said else f"exit status {done.returncode}"
        return None, f"PipeWire is not running ({reason})"
    try:
        return parse_pw_dump(done.stdout), "running"
    except PwDumpError as exc:
        return None, f"cannot read pw-dump's output: {exc}"


def sounddevice_module() -> Any:
    """The ``sounddevice`` module; :class:`DiscoveryError` when PortAudio is missing."""
    try:
        import sounddevice  # type: ignore[import-untyped]
    except OSError as exc:
        raise DiscoveryError(
            f"PortAudio is not available ({exc}): install the Debian package libportaudio2"
        ) from None
    return sounddevice


def read_portaudio(refresh: bool = True) -> tuple[PaDevice, ...]:
    """PortAudio's devices; with ``refresh``, after initializing PortAudio again (unless a
    stream is open in this process: that would close it)."""
    sd = sounddevice_module()
    with PORTAUDIO_LOCK:
        try:
            if refresh and not OPEN_STREAMS and sd._initialized:
                sd._terminate()
            if not sd._initialized:
                sd._initialize()
            devices = [dict(d) for d in sd.query_devices()]
            hostapis = [dict(api) for api in sd.query_hostapis()]
        except sd.PortAudioError as exc:
            raise DiscoveryError(f"PortAudio cannot list devices: {exc}") from None
    return parse_portaudio(devices, hostapis)


def snapshot(refresh: bool = True) -> Snapshot:
    """Look at PipeWire and PortAudio now (blocking: run it in a thread from async code)."""
    graph, note = read_pipewire()
    return Snapshot(graph=graph, pipewire_note=note, devices=read_portaudio(refresh))


def discover(preference: Preference, refresh: bool = True) -> tuple[Ranking, Snapshot]:
    """Snapshot and rank (blocking)."""
    seen = snapshot(refresh)
    return rank(seen.graph, seen.devices, preference), seen

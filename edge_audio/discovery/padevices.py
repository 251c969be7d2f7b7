"""Reading PortAudio's device list (what ``sounddevice.query_devices()`` returns).

Pure: the list of device dicts and the host API dicts in, :class:`PaDevice` records out. On
Linux PortAudio lists ALSA hardware PCMs (``"UMC204HD 192k: USB Audio (hw:1,0)"``), ALSA plugin
PCMs (``pipewire``, ``pulse``, ``default``, ``sysdefault``, ``dmix``...) and, when a JACK server
runs, JACK clients. PipeWire nodes are never separate entries: they are reached through the
``pipewire`` (or ``pulse``) plugin with an environment variable naming the node.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

ALSA = "ALSA"
JACK = "JACK Audio Connection Kit"

PaKind = Literal["hw", "pipewire", "pulse", "default", "plugin", "jack", "other"]
"""``hw``: an ALSA hardware PCM; ``pipewire``/``pulse``: the routes into those servers;
``default``: ALSA's ``default``/``sysdefault``; ``plugin``: another ALSA plugin PCM;
``jack``: a JACK client; ``other``: any other host API (OSS)."""

_HW = re.compile(r"^(?P<card>.*?): (?P<pcm>.*) \((?P<hw>hw:\d+,\d+)\)$")
_DEFAULTS = frozenset({"default", "sysdefault"})


@dataclass(frozen=True)
class PaDevice:
    """One PortAudio device that can capture (or not: see ``max_input_channels``)."""

    index: int
    """PortAudio's index: valid until PortAudio is initialized again; never stored."""
    name: str
    """The full name, e.g. ``"UMC204HD 192k: USB Audio (hw:1,0)"`` or ``"pipewire"``."""
    hostapi: str
    """``ALSA``, ``JACK Audio Connection Kit`` or ``OSS``."""
    max_input_channels: int
    default_samplerate: float
    kind: PaKind
    card: str = ""
    """For ``hw``: the card's name (``"UMC204HD 192k"``)."""
    pcm: str = ""
    """For ``hw``: the PCM's name (``"USB Audio"``, ``"-"`` when it has none)."""
    hw: str = ""
    """For ``hw``: ``"hw:1,0"`` (the card number changes across reboots: never stored)."""

    @property
    def stable_name(self) -> str:
        """The name without the volatile ``(hw:N,M)`` suffix, for an ALSA hardware PCM."""
        if self.kind == "hw":
            return f"{self.card}: {self.pcm}"
        return self.name

    @property
    def usb(self) -> bool:
        """True for a USB audio class device (its PCM is named ``USB Audio``)."""
        return self.kind == "hw" and "USB Audio" in self.pcm


def parse_portaudio(
    devices: Sequence[Mapping[str, Any]], hostapis: Sequence[Mapping[str, Any]]
) -> tuple[PaDevice, ...]:
    """PortAudio's devices with their host API names (``query_devices()``, ``query_hostapis()``).

    Entries without a name or channel count are skipped; the index is taken from the entry
    (``"index"``) or its position.
    """
    apis = [str(api.get("name", "")) for api in hostapis]
    result: list[PaDevice] = []
    for position, entry in enumerate(devices):
        name = entry.get("name")
        channels = entry.get("max_input_channels")
        if not isinstance(name, str) or not isinstance(channels, int):
            continue
        api_index = entry.get("hostapi")
        hostapi = (
            apis[api_index] if isinstance(api_index, int) and 0 <= api_index < len(apis) else ""
        )
        index = entry.get("index", position)
        rate = entry.get("default_samplerate")
        result.append(
            _device(
                index=index if isinstance(index, int) else position,
                name=name,
                hostapi=hostapi,
                channels=channels,
                rate=float(rate) if isinstance(rate, int | float) else 0.0,
            )
        )
    return tuple(result)


def _device(index: int, name: str, hostapi: str, channels: int, rate: float) -> PaDevice:
    kind: PaKind
    card = pcm = hw = ""
    match = _HW.match(name) if hostapi == ALSA else None
    if hostapi == JACK:
        kind = "jack"
    elif hostapi != ALSA:
        kind = "other"
    elif match:
        kind, card, pcm, hw = "hw", match["card"], match["pcm"], match["hw"]
    elif name in ("pipewire", "pulse"):
        kind = "pipewire" if name == "pipewire" else "pulse"
    elif name in _DEFAULTS:
        kind = "default"
    else:
        kind = "plugin"
    return PaDevice(
        index=index,
        name=name,
        hostapi=hostapi,
        max_input_channels=channels,
        default_samplerate=rate,
        kind=kind,
        card=card,
        pcm=pcm,
        hw=hw,
    )

"""How to open a chosen candidate with PortAudio: which device, which environment.

Pure. PortAudio does not list PipeWire nodes; a node is captured through the ALSA ``pipewire``
PCM with ``PIPEWIRE_NODE`` set to its ``node.name`` or ``object.serial`` (the id ``wpctl`` prints
is NOT accepted: capture would silently fall back to the default source), or through the
``pulse`` PCM with ``PULSE_SOURCE``. ``node.dont-reconnect`` makes the stream end when its node
goes (a USB unplug) instead of being moved, silently, to another source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from edge_audio.discovery.padevices import PaDevice
from edge_audio.discovery.ranking import Candidate

DEFAULT_RATE = 48000
"""Rate asked of a PipeWire node that does not say (PipeWire's usual graph rate)."""


class NoRoute(ValueError):
    """The candidate cannot be opened with the PortAudio devices present."""


@dataclass(frozen=True)
class OpenPlan:
    """Everything needed to open a capture stream for one candidate."""

    device_index: int
    """PortAudio device index (valid until PortAudio is initialized again)."""
    device_name: str
    """PortAudio device name, e.g. ``pipewire`` or ``UMC204HD 192k: USB Audio (hw:1,0)``."""
    channels: int
    samplerate: int
    env: Mapping[str, str] = field(default_factory=dict)
    """Environment the ALSA plugin reads when the stream opens."""
    label: str = ""
    """What is captured, for logs, ``STATUS=`` and the ``hello``'s ``device``."""


def plan_open(candidate: Candidate, devices: Sequence[PaDevice]) -> OpenPlan:
    """The plan to open ``candidate`` with today's PortAudio ``devices``.

    Raises :class:`NoRoute` when the device (or the ``pipewire``/``pulse`` route) is missing.
    """
    if candidate.backend == "pipewire":
        return _pipewire(candidate, devices)
    if candidate.backend == "alsa" and candidate.target.startswith("hw:"):
        found = [d for d in devices if d.kind == "hw" and d.hw == candidate.target]
    else:
        found = [d for d in devices if d.stable_name == candidate.target]
    found = [d for d in found if d.max_input_channels > 0]
    if not found:
        raise NoRoute(f"{candidate.label} is not in PortAudio's device list any more")
    device = found[0]
    return OpenPlan(
        device_index=device.index,
        device_name=device.name,
        channels=device.max_input_channels,
        samplerate=round(device.default_samplerate) or DEFAULT_RATE,
        label=candidate.label,
    )


def _pipewire(candidate: Candidate, devices: Sequence[PaDevice]) -> OpenPlan:
    routes = {d.kind: d for d in devices if d.kind in ("pipewire", "pulse")}
    channels = candidate.channels
    rate = candidate.rate or DEFAULT_RATE
    if "pipewire" in routes:
        props = "node.dont-reconnect=true"
        if candidate.monitor:
            props += " stream.capture.sink=true"
        route = routes["pipewire"]
        env = {"PIPEWIRE_NODE": candidate.target, "PIPEWIRE_PROPS": "{ " + props + " }"}
    elif "pulse" in routes:
        route = routes["pulse"]
        name = candidate.target if candidate.target != str(candidate.serial) else candidate.name
        if candidate.monitor and not name.endswith(".monitor"):
            name += ".monitor"  # pipewire-pulse names a sink's monitor source like PulseAudio
        env = {"PULSE_SOURCE": name}
    else:
        raise NoRoute(
            "PipeWire runs but PortAudio lists neither the ALSA 'pipewire' nor the 'pulse' "
            "device: install pipewire-alsa (or pipewire-pulse and libasound2-plugins)"
        )
    return OpenPlan(
        device_index=route.index,
        device_name=route.name,
        channels=channels,
        samplerate=rate,
        env=env,
        label=candidate.label,
    )

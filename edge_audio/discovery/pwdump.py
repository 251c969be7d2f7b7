"""Reading ``pw-dump`` JSON: the PipeWire audio nodes a capture could come from.

Pure: JSON text (or the decoded list) in, :class:`PwGraph` out; no subprocess. ``pw-dump``
prints one JSON array of objects, each with ``id``, ``type`` (``PipeWire:Interface:Node``,
``...:Device``, ``...:Metadata``, ...) and, for nodes and devices, ``info.props``. Sinks are kept
too: their monitor (what is played to them) can be captured.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

NODE = "PipeWire:Interface:Node"
DEVICE = "PipeWire:Interface:Device"
METADATA = "PipeWire:Interface:Metadata"

SOURCE_CLASSES = frozenset({"Audio/Source", "Audio/Source/Virtual", "Audio/Duplex"})
"""Media classes whose output ports carry captured audio."""
SINK_CLASSES = frozenset({"Audio/Sink", "Audio/Duplex"})
"""Media classes with a monitor (the audio played to them)."""


class PwDumpError(ValueError):
    """The text is not what ``pw-dump`` prints."""


@dataclass(frozen=True)
class PwNode:
    """One PipeWire audio node, as far as choosing a capture source is concerned."""

    id: int
    """The object id: what ``wpctl`` prints. Reused after a node goes; never used to open."""
    serial: int | None
    """``object.serial``: unique for the daemon's lifetime (ids are recycled, serials are not)."""
    name: str
    """``node.name``: stable across reboots for hardware (``alsa_input.usb-...``)."""
    description: str
    """``node.description``, what desktop tools show (``UMC204HD 192k Analog Stereo``)."""
    nick: str
    """``node.nick`` (often the card's short name)."""
    media_class: str
    """``Audio/Source``, ``Audio/Source/Virtual``, ``Audio/Sink`` or ``Audio/Duplex``."""
    channels: int | None
    """``audio.channels`` (or the channel count of its format), None when unknown."""
    rate: int | None
    """``audio.rate`` (or the rate of its format), None when unknown (the graph's rate)."""
    api: str
    """``device.api`` of the node or its device: ``alsa``, ``bluez5``, ... or ``""`` (virtual)."""
    bus: str
    """``device.bus`` of its device: ``usb``, ``pci``, ``bluetooth``, or ``""``."""
    virtual: bool
    """A node made by software (null sink, remap, loopback, filter), not by a device."""
    card: str
    """The sound card's name as ALSA knows it (``alsa.card_name``), ``""`` when not ALSA."""
    device_description: str
    """``device.description`` / product name of the device the node belongs to."""
    pcm: str = ""
    """The ALSA PCM's name (``alsa.name``: ``USB Audio`` for any USB audio class device)."""
    monitor_of: str | None = None
    """For a monitor candidate derived from a sink: that sink's ``node.name``."""

    @property
    def is_source(self) -> bool:
        """True when capturing from the node records what it produces."""
        return self.media_class in SOURCE_CLASSES

    @property
    def is_sink(self) -> bool:
        """True when the node plays audio (and so has a monitor)."""
        return self.media_class in SINK_CLASSES


@dataclass(frozen=True)
class PwGraph:
    """The audio nodes of one PipeWire daemon and its default devices."""

    nodes: tuple[PwNode, ...]
    default_source: str | None = None
    """``node.name`` of the configured default source (``default.audio.source`` metadata)."""
    default_sink: str | None = None
    """``node.name`` of the default sink."""

    def sources(self) -> tuple[PwNode, ...]:
        """Nodes that can be captured directly."""
        return tuple(n for n in self.nodes if n.is_source)

    def sinks(self) -> tuple[PwNode, ...]:
        """Nodes whose monitor can be captured."""
        return tuple(n for n in self.nodes if n.is_sink)


def parse_pw_dump(data: str | bytes | list[Any]) -> PwGraph:
    """Parse ``pw-dump`` output (text or the decoded array).

    Keeps audio sources and sinks; ignores everything else (clients, ports, links, video).
    Raises :class:`PwDumpError` when the text is not a JSON array of objects.
    """
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise PwDumpError(f"pw-dump output is not JSON: {exc}") from None
    if not isinstance(data, list):
        raise PwDumpError("pw-dump output is not a JSON array")
    objects = [o for o in data if isinstance(o, dict)]
    devices = {
        o["id"]: _props(o)
        for o in objects
        if o.get("type") == DEVICE and isinstance(o.get("id"), int)
    }
    nodes: list[PwNode] = []
    for obj in objects:
        if obj.get("type") != NODE or not isinstance(obj.get("id"), int):
            continue
        node = _node(obj, devices)
        if node is not None:
            nodes.append(node)
    defaults = _defaults(objects)
    return PwGraph(
        nodes=tuple(nodes),
        default_source=defaults.get("default.audio.source"),
        default_sink=defaults.get("default.audio.sink"),
    )


def _props(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    info = obj.get("info")
    props = info.get("props") if isinstance(info, dict) else None
    return props if isinstance(props, dict) else {}


def _text(props: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = props.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _int(value: Any) -> int | None:
    """An int from a prop or a format field (``2``, ``"2"``, or ``{"default": 2, ...}``)."""
    if isinstance(value, dict):
        value = value.get("default")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
        return number if number > 0 else None
    return None


def _format_field(obj: Mapping[str, Any], key: str) -> int | None:
    """``key`` of the node's current ``Format``, else of its first ``EnumFormat``."""
    info = obj.get("info")
    params = info.get("params") if isinstance(info, dict) else None
    if not isinstance(params, dict):
        return None
    for param in ("Format", "EnumFormat"):
        entries = params.get(param)
        if isinstance(entries, list):
            for entry in entries:
                if isinstance(entry, dict) and (value := _int(entry.get(key))) is not None:
                    return value
    return None


def _node(obj: Mapping[str, Any], devices: Mapping[int, Mapping[str, Any]]) -> PwNode | None:
    props = _props(obj)
    media_class = _text(props, "media.class")
    if media_class not in SOURCE_CLASSES | SINK_CLASSES:
        return None
    device_id = _int(props.get("device.id"))
    device = devices.get(device_id, {}) if device_id is not None else {}
    name = _text(props, "node.name")
    if not name:
        return None
    api = _text(props, "device.api") or _text(device, "device.api")
    return PwNode(
        id=int(obj["id"]),
        serial=_int(props.get("object.serial")),
        name=name,
        description=_text(props, "node.description", "node.nick") or name,
        nick=_text(props, "node.nick"),
        media_class=media_class,
        channels=_int(props.get("audio.channels")) or _format_field(obj, "channels"),
        rate=_int(props.get("audio.rate")) or _format_field(obj, "rate"),
        api=api,
        bus=_text(props, "device.bus") or _text(device, "device.bus"),
        virtual=device_id is None
        or props.get("node.virtual") is True
        or _text(props, "device.class") == "filter",
        card=_text(props, "alsa.card_name", "api.alsa.card.name")
        or _text(device, "alsa.card_name", "api.alsa.card.name"),
        device_description=_text(device, "device.description", "device.product.name"),
        pcm=_text(props, "alsa.name"),
    )


def _defaults(objects: list[dict[str, Any]]) -> dict[str, str]:
    """``default.audio.source`` / ``.sink`` names from the ``default`` metadata.

    The configured keys (``default.configured.audio.*``: what the user chose) are used only when
    the effective ones are missing.
    """
    found: dict[str, str] = {}
    configured: dict[str, str] = {}
    for obj in objects:
        if obj.get("type") != METADATA or obj.get("props", {}).get("metadata.name") != "default":
            continue
        entries = obj.get("metadata")
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or entry.get("subject") != 0:
                continue
            key, value = entry.get("key"), entry.get("value")
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    continue
            name = value.get("name") if isinstance(value, dict) else None
            if not isinstance(key, str) or not isinstance(name, str):
                continue
            if key.startswith("default.configured."):
                configured[key.replace("default.configured.", "default.", 1)] = name
            else:
                found[key] = name
    return {**configured, **found}

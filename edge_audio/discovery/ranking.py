"""Choosing the capture device: candidates from PipeWire and PortAudio, ranked by a preference.

Pure: a :class:`~.pwdump.PwGraph` (None when PipeWire is not running), the PortAudio
devices and a :class:`Preference` in, a :class:`Ranking` out. Every candidate carries the reasons
for its place, so ``edge-audio devices`` can explain the choice. The chosen candidate is named by
a stable identifier: a PipeWire ``node.name`` (its ``object.serial`` when several nodes share the
name), an ALSA card and PCM name without the ``hw:N,M`` numbers; never the id ``wpctl`` prints.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from edge_audio.discovery.padevices import PaDevice
from edge_audio.discovery.pwdump import PwGraph, PwNode

Backend = Literal["pipewire", "alsa", "jack"]
PreferenceKind = Literal["pattern", "monitor", "default"]

MATCH = 100
PIPEWIRE_NODE = 30
HW_WITHOUT_PIPEWIRE = 30
USB = 20
DEFAULT_SOURCE = 5
VIRTUAL = -5
JACK_ALONE = -10
DEFAULT_PCM = -20
JACK_VIA_PIPEWIRE = -30
HW_UNDER_PIPEWIRE = -40
LOOPBACK = -40
HDMI = -50
PLUGIN = -50
MONITOR = -60
PLACEHOLDER = -100

_HDMI = re.compile(r"hdmi|displayport|\bdp\b", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"^(dummy|auto_null|freewheel)|dummy output", re.IGNORECASE)
_LOOPBACK = re.compile(r"loopback", re.IGNORECASE)


@dataclass(frozen=True)
class Preference:
    """What the node should capture: ``default``, a pattern, or ``monitor:PATTERN``."""

    text: str
    """As configured (``EDGE_AUDIO_DEVICE``)."""
    kind: PreferenceKind
    pattern: re.Pattern[str] | None
    """Case-insensitive regular expression (None: ``default``, or the default sink's monitor)."""

    @classmethod
    def parse(cls, text: str) -> Preference:
        """``"default"`` (or empty), ``"monitor:SINK PATTERN"``, or a pattern such as
        ``"Behringer|UMC|Focusrite|USB Audio"``. Raises ValueError for an invalid pattern."""
        stripped = text.strip()
        kind: PreferenceKind = "pattern"
        body = stripped
        if stripped.lower() in ("", "default"):
            return cls(text=stripped or "default", kind="default", pattern=None)
        if stripped.lower().startswith("monitor:"):
            kind, body = "monitor", stripped[len("monitor:") :].strip()
        try:
            pattern = re.compile(body, re.IGNORECASE) if body else None
        except re.error as exc:
            raise ValueError(f"device preference {text!r} is not a valid pattern: {exc}") from None
        return cls(text=stripped, kind=kind, pattern=pattern)


@dataclass(frozen=True)
class Candidate:
    """Something that can be captured, with its place in the ranking and why."""

    backend: Backend
    target: str
    """The stable identifier used to open it (see the module docstring)."""
    name: str
    """``node.name`` (for a monitor: the sink's) or the PortAudio device name."""
    description: str
    channels: int
    rate: int | None
    monitor: bool = False
    serial: int | None = None
    node_id: int | None = None
    """The PipeWire object id, shown for reference (``wpctl``), never used to open."""
    usb: bool = False
    score: int = 0
    eligible: bool = False
    """True when it matches the preference and is not a decoy ruled out."""
    reasons: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``pipewire:alsa_input.usb-...``, ``alsa:UMC204HD 192k: USB Audio``; for logs."""
        return f"{self.backend}:{self.target}" + (" (monitor)" if self.monitor else "")


@dataclass(frozen=True)
class Ranking:
    """Every candidate, best first, and the one that would be used."""

    preference: Preference
    pipewire: bool
    """True when PipeWire answered (its nodes are then preferred)."""
    candidates: tuple[Candidate, ...]

    @property
    def chosen(self) -> Candidate | None:
        """The best eligible candidate, or None when nothing fits the preference."""
        return next((c for c in self.candidates if c.eligible), None)


def rank(graph: PwGraph | None, devices: Sequence[PaDevice], preference: Preference) -> Ranking:
    """Rank every capture candidate of ``graph`` and ``devices`` for ``preference``."""
    scored: list[Candidate] = []
    if graph is not None:
        scored += _pipewire_candidates(graph, preference)
    scored += _portaudio_candidates(graph, devices, preference)
    order = {"pipewire": 0, "alsa": 1, "jack": 2}
    scored.sort(key=lambda c: (not c.eligible, -c.score, order[c.backend], c.name, c.target))
    return Ranking(preference=preference, pipewire=graph is not None, candidates=tuple(scored))


class _Score:
    def __init__(self) -> None:
        self.score = 0
        self.eligible = True
        self.reasons: list[str] = []

    def add(self, points: int, reason: str) -> None:
        self.score += points
        self.reasons.append(f"{'+' if points >= 0 else '-'} {reason}")

    def exclude(self, reason: str, points: int = 0) -> None:
        self.eligible = False
        self.score += points
        self.reasons.append(f"x {reason}")


def _match(score: _Score, preference: Preference, fields: dict[str, str], monitor: bool) -> None:
    """Apply the preference: a match scores, a mismatch or a monitor not asked for excludes."""
    if preference.kind == "monitor" and not monitor:
        score.exclude(f"not a monitor (the preference is {preference.text!r})")
        return
    if preference.kind != "monitor" and monitor:
        score.exclude(
            "monitor of a sink: records what is played there, not an input "
            "(ask for it with monitor:PATTERN)",
            MONITOR,
        )
        return
    if preference.pattern is None:
        return
    for field, value in fields.items():
        if value and preference.pattern.search(value):
            score.add(MATCH, f"{field} {value!r} matches {preference.pattern.pattern!r}")
            return
    score.exclude(f"does not match {preference.pattern.pattern!r}")


def _decoys(score: _Score, texts: Sequence[str]) -> None:
    joined = " ".join(t for t in texts if t)
    if _PLACEHOLDER.search(joined):
        score.exclude("placeholder made when there is no real device", PLACEHOLDER)
    if _HDMI.search(joined):
        score.add(HDMI, "HDMI/DisplayPort: a screen's audio, not a mixer")
    if _LOOPBACK.search(joined):
        score.add(LOOPBACK, "loopback: carries another program's audio")


def _pipewire_candidates(graph: PwGraph, preference: Preference) -> list[Candidate]:
    counts = Counter(n.name for n in graph.nodes)
    result: list[Candidate] = []
    for node in graph.nodes:
        if node.is_source:
            monitor = node.name.endswith(".monitor") or node.description.startswith("Monitor of")
            result.append(_pipewire(node, graph, preference, counts, monitor=monitor))
        if node.is_sink:
            result.append(_pipewire(node, graph, preference, counts, monitor=True))
    return result


def _pipewire(
    node: PwNode, graph: PwGraph, preference: Preference, counts: Counter[str], monitor: bool
) -> Candidate:
    score = _Score()
    sink_monitor = monitor and node.is_sink
    description = f"Monitor of {node.description}" if sink_monitor else node.description
    fields = {
        "node.name": node.name,
        "description": node.description,
        "nick": node.nick,
        "card": node.card,
        "device": node.device_description,
        "ALSA PCM": node.pcm,
    }
    if preference.kind == "monitor" and preference.pattern is None:
        if monitor and node.name == graph.default_sink:
            score.add(MATCH, "monitor of the default sink")
        elif monitor:
            score.exclude("not the default sink's monitor")
    _match(score, preference, fields, monitor)
    score.add(PIPEWIRE_NODE, "PipeWire node (PipeWire is running)")
    if preference.kind == "default" and not monitor and node.name == graph.default_source:
        score.add(MATCH, "PipeWire's default source")
    elif not monitor and node.name == graph.default_source:
        score.add(DEFAULT_SOURCE, "PipeWire's default source")
    if node.bus == "usb":
        score.add(USB, "USB audio interface")
    if node.virtual:
        score.add(VIRTUAL, "virtual node (made by software)")
    _decoys(score, [node.name, node.description, node.nick, node.card])
    target = node.name
    if counts[node.name] > 1:
        if node.serial is not None:
            target = str(node.serial)
            score.reasons.append(
                f"= node.name shared by {counts[node.name]} nodes: opened by object.serial"
            )
        else:
            score.reasons.append(f"= node.name shared by {counts[node.name]} nodes")
    return Candidate(
        backend="pipewire",
        target=target,
        name=node.name,
        description=description,
        channels=node.channels or 2,
        rate=node.rate,
        monitor=monitor,
        serial=node.serial,
        node_id=node.id,
        usb=node.bus == "usb",
        score=score.score,
        eligible=score.eligible,
        reasons=tuple(score.reasons),
    )


def _portaudio_candidates(
    graph: PwGraph | None, devices: Sequence[PaDevice], preference: Preference
) -> list[Candidate]:
    names = Counter(d.stable_name for d in devices if d.kind == "hw")
    pipewire_cards = {n.card: n.name for n in graph.nodes} if graph is not None else {}
    result = []
    for device in devices:
        if device.max_input_channels <= 0 or device.kind in ("pipewire", "pulse", "other"):
            continue  # routes into servers, outputs, OSS: not capture candidates
        score = _Score()
        _match(score, preference, {"name": device.name}, monitor=False)
        running = graph is not None
        if device.kind == "hw" and running:
            owner = pipewire_cards.get(device.card)
            also = f" (it is PipeWire node {owner})" if owner else ""
            score.add(HW_UNDER_PIPEWIRE, f"ALSA hardware while PipeWire runs and owns it{also}")
        elif device.kind == "hw":
            score.add(HW_WITHOUT_PIPEWIRE, "ALSA hardware device (PipeWire is not running)")
        elif device.kind == "jack" and running:
            score.add(JACK_VIA_PIPEWIRE, "JACK client: a view of PipeWire nodes via pipewire-jack")
        elif device.kind == "jack":
            score.add(JACK_ALONE, "JACK client (needs the JACK server)")
        elif device.kind == "default" and running:
            score.exclude("ALSA's default PCM leads to PipeWire's default: use the node")
        elif device.kind == "default":
            score.add(DEFAULT_PCM, "ALSA's default PCM (whatever it is configured to)")
        else:
            score.add(PLUGIN, "ALSA plugin PCM, not a device")
            if preference.kind == "default":
                score.exclude("not used as a default")
        if device.usb:
            score.add(USB, "USB audio interface")
        _decoys(score, [device.name])
        target = device.stable_name
        if device.kind == "hw" and names[device.stable_name] > 1:
            target = device.hw
            score.reasons.append("= several cards share this name: hw numbers change on reboot")
        result.append(
            Candidate(
                backend="jack" if device.kind == "jack" else "alsa",
                target=target,
                name=device.name,
                description=device.name,
                channels=device.max_input_channels,
                rate=round(device.default_samplerate) or None,
                usb=device.usb,
                score=score.score,
                eligible=score.eligible,
                reasons=tuple(score.reasons),
            )
        )
    return result

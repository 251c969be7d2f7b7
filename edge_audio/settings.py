"""Settings of ``edge-audio run``: an environment file, the environment, then flags.

Pure: mappings of strings in, a validated frozen :class:`NodeSettings` out. The environment
file uses systemd's ``EnvironmentFile=`` syntax (``KEY=value`` lines, ``#`` comments, optional
quotes), so the same file serves the unit and a manual run. Every error names the variable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypeAlias

from edge_audio.discovery.ranking import Preference
from edge_audio.pcm.convert import ChannelSelection
from edge_audio.pcm.framing import MAX_FRAME_MS, MIN_FRAME_MS
from edge_server.contract.audio_format import BYTES_PER_SECOND
from edge_server.contract.names import InvalidName, validate_language, validate_room_name
from edge_server.contract.urls import audio_url

DEFAULT_ENV_FILE = "/etc/edge-audio/edge-audio.env"

InputChannel: TypeAlias = int | Literal["mix"]
"""``"mix"`` averages all channels; an int is an input number as printed on the interface
(1 = first/left). Note: ``stream-file --channel`` counts from 0, like the file's channels."""


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class NodeSettings:
    """Everything ``edge-audio run`` needs. Variables: ``EDGE_AUDIO_<NAME>`` (see ENV_NAMES)."""

    server: str
    """Server URL, ``http(s)://host:port`` or ``ws(s)://`` (``EDGE_AUDIO_SERVER``)."""
    room: str
    """Room name (``EDGE_AUDIO_ROOM``)."""
    language: str | None = None
    """Spoken language, e.g. ``en-US``; None leaves it to the room (``EDGE_AUDIO_LANG``)."""
    device: str = "default"
    """Which device to capture: ``default``, a pattern such as ``Behringer|UMC|USB Audio``,
    or ``monitor:SINK PATTERN`` for what an application plays (``EDGE_AUDIO_DEVICE``)."""
    channel: InputChannel = "mix"
    """``mix``, ``left``/``right``, or an input number from 1 (``EDGE_AUDIO_CHANNEL``)."""
    buffer_seconds: float = 60.0
    """Audio kept while the server is away, 1-600 s; the oldest is dropped first."""
    resend_seconds: float = 10.0
    """The last audio sent that is kept to send again after a reconnect, 0-60 s: what was in
    flight on a dead link (``EDGE_AUDIO_RESEND_SECONDS``)."""
    silence_dbfs: float = -50.0
    """RMS level (dBFS) below which a second counts as silent (``EDGE_AUDIO_SILENCE_DBFS``)."""
    no_signal_seconds: float = 30.0
    """Silence for this long raises the "no signal" alarm (``EDGE_AUDIO_NO_SIGNAL_SECONDS``)."""
    frame_ms: int = 100
    """Audio per uplink frame, 20-100 ms (``EDGE_AUDIO_FRAME_MS``)."""
    token: str | None = field(default=None, repr=False)
    """The server's audio token (``EDGE_AUDIO_TOKEN``), sent as ``Authorization: Bearer``;
    never logged."""
    ping_interval_s: float = 5.0
    """Seconds between WebSocket pings (``EDGE_AUDIO_PING_INTERVAL``)."""
    ping_timeout_s: float = 10.0
    """A ping unanswered this long means the link is dead (``EDGE_AUDIO_PING_TIMEOUT``)."""
    reconnect_max_s: float = 2.5
    """Longest wait between two connection attempts (``EDGE_AUDIO_RECONNECT_MAX_SECONDS``);
    short, so streaming resumes within about 3 s of the server coming back."""
    stall_seconds: float = 3.0
    """No audio from an open device for this long counts as the device gone
    (``EDGE_AUDIO_STALL_SECONDS``)."""
    ca_file: str | None = None
    """PEM file of the certificate authority that signed a ``wss://``/``https://`` server's
    certificate (a venue's local CA); None trusts the system's store (``EDGE_AUDIO_CA_FILE``)."""

    def __post_init__(self) -> None:
        try:
            audio_url(self.server, "x")
        except ValueError as exc:
            raise SettingsError(f"EDGE_AUDIO_SERVER: {exc}") from None
        _check("EDGE_AUDIO_ROOM", validate_room_name, self.room)
        if self.language is not None:
            _check("EDGE_AUDIO_LANG", validate_language, self.language)
        try:
            Preference.parse(self.device)
        except ValueError as exc:
            raise SettingsError(f"EDGE_AUDIO_DEVICE: {exc}") from None
        if self.channel != "mix" and not (
            isinstance(self.channel, int)
            and not isinstance(self.channel, bool)
            and self.channel >= 1
        ):
            raise SettingsError(
                f"EDGE_AUDIO_CHANNEL: {self.channel!r} is not 'mix' or an input number from 1"
            )
        _range("EDGE_AUDIO_BUFFER_SECONDS", self.buffer_seconds, 1, 600)
        _range("EDGE_AUDIO_RESEND_SECONDS", self.resend_seconds, 0, 60)
        _range("EDGE_AUDIO_SILENCE_DBFS", self.silence_dbfs, -120, 0)
        _range("EDGE_AUDIO_NO_SIGNAL_SECONDS", self.no_signal_seconds, 1, 86400)
        _range("EDGE_AUDIO_FRAME_MS", self.frame_ms, MIN_FRAME_MS, MAX_FRAME_MS)
        _range("EDGE_AUDIO_PING_INTERVAL", self.ping_interval_s, 0.5, 600)
        _range("EDGE_AUDIO_PING_TIMEOUT", self.ping_timeout_s, 0.5, 600)
        _range("EDGE_AUDIO_RECONNECT_MAX_SECONDS", self.reconnect_max_s, 0.5, 300)
        _range("EDGE_AUDIO_STALL_SECONDS", self.stall_seconds, 0.5, 60)

    @property
    def preference(self) -> Preference:
        """The parsed device preference."""
        return Preference.parse(self.device)

    @property
    def url(self) -> str:
        """The uplink's WebSocket URL."""
        return audio_url(self.server, self.room)

    @property
    def converter_channel(self) -> ChannelSelection:
        """The channel for :class:`~edge_audio.pcm.convert.PcmConverter` (0-based, or ``mix``)."""
        return "mix" if self.channel == "mix" else self.channel - 1

    @property
    def buffer_bytes(self) -> int:
        """The buffer's bound in bytes of 16 kHz mono s16le."""
        return int(self.buffer_seconds * BYTES_PER_SECOND) // 2 * 2

    @property
    def resend_bytes(self) -> int:
        """The resend history's bound in bytes."""
        return int(self.resend_seconds * BYTES_PER_SECOND) // 2 * 2


ENV_NAMES: dict[str, str] = {
    "server": "EDGE_AUDIO_SERVER",
    "room": "EDGE_AUDIO_ROOM",
    "language": "EDGE_AUDIO_LANG",
    "device": "EDGE_AUDIO_DEVICE",
    "channel": "EDGE_AUDIO_CHANNEL",
    "buffer_seconds": "EDGE_AUDIO_BUFFER_SECONDS",
    "resend_seconds": "EDGE_AUDIO_RESEND_SECONDS",
    "silence_dbfs": "EDGE_AUDIO_SILENCE_DBFS",
    "no_signal_seconds": "EDGE_AUDIO_NO_SIGNAL_SECONDS",
    "frame_ms": "EDGE_AUDIO_FRAME_MS",
    "token": "EDGE_AUDIO_TOKEN",
    "ping_interval_s": "EDGE_AUDIO_PING_INTERVAL",
    "ping_timeout_s": "EDGE_AUDIO_PING_TIMEOUT",
    "reconnect_max_s": "EDGE_AUDIO_RECONNECT_MAX_SECONDS",
    "stall_seconds": "EDGE_AUDIO_STALL_SECONDS",
    "ca_file": "EDGE_AUDIO_CA_FILE",
}
"""Settings field -> environment variable."""


def parse_env_file(text: str, where: str = "environment file") -> dict[str, str]:
    """``KEY=value`` lines as systemd's ``EnvironmentFile=`` reads them.

    Blank lines and lines starting with ``#`` or ``;`` are skipped; a value may be wrapped in
    single or double quotes. Raises :class:`SettingsError` naming the line otherwise.
    """
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key.replace("_", "").isalnum() or key[0].isdigit():
            raise SettingsError(f"{where}, line {number}: expected KEY=value, got {raw.strip()!r}")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def load_settings(
    file_values: Mapping[str, str],
    environ: Mapping[str, str],
    flags: Mapping[str, Any],
) -> NodeSettings:
    """Settings from the environment file, then the environment, then flags (highest).

    ``flags`` maps field names to values already typed by the command line (None = not given).
    Raises :class:`SettingsError` naming the variable for a missing or invalid value.
    """
    values: dict[str, Any] = {}
    for name, var in ENV_NAMES.items():
        text = (environ.get(var) or "").strip() or (file_values.get(var) or "").strip()
        if text:
            values[name] = _convert(name, var, text)
    for name, value in flags.items():
        if value is not None:
            values[name] = value
    for name in ("server", "room"):
        if name not in values:
            raise SettingsError(
                f"{ENV_NAMES[name]} is not set (put it in the environment file or pass --{name})"
            )
    known = {f.name for f in fields(NodeSettings)}
    return NodeSettings(**{k: v for k, v in values.items() if k in known})


def parse_channel(text: str) -> InputChannel:
    """``mix``, ``left`` (1), ``right`` (2) or an input number from 1; ValueError otherwise."""
    lowered = text.strip().lower()
    named: dict[str, InputChannel] = {"mix": "mix", "left": 1, "right": 2}
    if lowered in named:
        return named[lowered]
    if lowered.isdigit() and int(lowered) >= 1:
        return int(lowered)
    hint = " (inputs are numbered from 1, as on the interface)" if lowered == "0" else ""
    raise ValueError(f"{text!r} is not 'mix', 'left', 'right' or an input number{hint}")


def _convert(name: str, var: str, text: str) -> Any:
    converters: dict[str, Callable[[str], Any]] = {
        "channel": parse_channel,
        "frame_ms": int,
    }
    kind = {f.name: f.type for f in fields(NodeSettings)}[name]
    convert = converters.get(name, float if kind == "float" else str)
    try:
        value = convert(text)
    except ValueError as exc:
        detail = str(exc) if name == "channel" else f"{text!r} is not a number"
        raise SettingsError(f"{var}: {detail}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise SettingsError(f"{var}: {text!r} is not a finite number")
    return value


def _check(var: str, check: Callable[[str], str], value: str) -> None:
    try:
        check(value)
    except InvalidName as exc:
        raise SettingsError(f"{var}: {exc}") from None


def _range(var: str, value: float, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise SettingsError(f"{var}: {value!r} is outside {low:g}-{high:g}")

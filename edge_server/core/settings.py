"""Server settings: frozen dataclasses, read from an optional TOML file, the environment
(``EDGE_SERVER_*``) and command-line flags, in increasing priority. Validated on load, so a typo
stops the server at start with a message naming the setting, not at the first talk.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_server.contract.names import InvalidName, validate_language, validate_room_name
from edge_server.core.auth import TokenError, Tokens, origin_allowed
from edge_server.core.forwarded import (
    PROXY_HEADERS,
    IpNetwork,
    ProxyListError,
    parse_trusted_proxies,
)
from edge_server.core.replication import ReplicationUrlError, check_url

ENGINES = ("pocketsphinx", "transcribe")
TRANSLATORS = ("none", "amazon-translate")
SYNTHESIZERS = ("none", "espeak", "polly")
STABILITIES = ("off", "low", "medium", "high")
FILTER_METHODS = ("mask", "remove", "tag")
POLLY_ENGINES = ("standard", "neural", "generative", "long-form")
OFFLINE_SEARCH = ("adaptive", "classic", "accurate", "fast", "fastest")
_LANGUAGE_LISTS = ("targets", "languages")
_NAME_LISTS = ("terminology",)


class SettingsError(ValueError):
    """A setting has an invalid value; the message names it."""


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise SettingsError(f"{name} {value!r} is not one of {', '.join(allowed)}")


@dataclass(frozen=True)
class RoomSettings:
    """How one room works."""

    source_lang: str = "en-US"
    """The language spoken, unless the audio node's hello says otherwise. With ``languages``,
    the preferred one for identification."""
    languages: tuple[str, ...] = ()
    """Two or more languages to identify automatically (talks alternating Italian and English);
    empty for a fixed language. Needs ``engine = "transcribe"``."""
    targets: tuple[str, ...] = ()
    """Languages to translate finals into (needs a translator)."""
    engine: str = "pocketsphinx"
    """Recognizer: ``pocketsphinx`` (embedded, offline) or ``transcribe`` (Amazon)."""
    fallback: bool = True
    """With a cloud engine: caption with pocketsphinx while the cloud is unreachable."""
    fallback_grace_s: float = 10.0
    """How long the cloud engine may fail before the room falls back."""
    stability: str = "high"
    """Transcribe partial-results stabilization: ``off``, ``low``, ``medium``, ``high``."""
    vocabulary: str = ""
    """Transcribe custom vocabulary name (names, jargon of the conference)."""
    vocabulary_filter: str = ""
    """Transcribe vocabulary filter name."""
    vocabulary_filter_method: str = "mask"
    """What the filter does: ``mask``, ``remove`` or ``tag``."""
    translator: str = "none"
    """``none`` or ``amazon-translate``."""
    terminology: tuple[str, ...] = ()
    """Amazon Translate custom terminology (one name: Translate applies one per request);
    empty: the one built from the glossary (``cloud_glossary``)."""
    synthesizer: str = "none"
    """``none``, ``espeak`` (local espeak-ng voice, offline) or ``polly`` (Amazon Polly): speech
    for the listeners' phones."""
    voice_fallback_grace_s: float = 5.0
    """With ``polly``: how long Polly may keep failing (a sentence retried meanwhile) before
    listeners hear the local espeak-ng voice, in each language it speaks, until Polly answers."""
    polly_engine: str = "neural"
    """Polly engine: ``standard``, ``neural``, ``generative`` or ``long-form``."""
    voices: Mapping[str, str] = field(default_factory=dict)
    """Preferred Polly voice per language (``{"it" = "Bianca"}``); others are discovered."""
    schedule_room: str = ""
    """The room's name in the conference schedule; "" uses the room's own name. Compared
    without case, spaces or punctuation (``hall-a`` matches ``Hall A``)."""
    glossary: str = ""
    """This room's glossary file (TOML), added to the conference's ``glossary``."""
    cloud_glossary: bool = True
    """With ``transcribe``/``amazon-translate``: build a custom vocabulary and a custom
    terminology from the glossary (unless ``vocabulary``/``terminology`` name your own)."""
    talk_offsets: Mapping[str, float] = field(default_factory=dict)
    """Seconds by talk id that the talk's recording started after its scheduled start
    (``{"6245" = 95.0}``): that talk's exported cue times are moved back by as much."""

    def __post_init__(self) -> None:
        try:
            validate_language(self.source_lang)
            for code in (*self.targets, *self.languages, *self.voices):
                validate_language(code)
        except InvalidName as exc:
            raise SettingsError(str(exc)) from None
        _one_of("engine", self.engine, ENGINES)
        _one_of("translator", self.translator, TRANSLATORS)
        _one_of("synthesizer", self.synthesizer, SYNTHESIZERS)
        _one_of("stability", self.stability, STABILITIES)
        _one_of("vocabulary_filter_method", self.vocabulary_filter_method, FILTER_METHODS)
        _one_of("polly_engine", self.polly_engine, POLLY_ENGINES)
        if len(self.languages) == 1:
            raise SettingsError("languages: give two or more to identify, or none")
        if len(self.terminology) > 1:
            raise SettingsError(
                "terminology: Amazon Translate applies one custom terminology per request; "
                "name one (or none: the room's glossary makes one)"
            )
        if self.languages and self.engine != "transcribe":
            raise SettingsError("languages (automatic identification) needs engine transcribe")
        for name in ("fallback_grace_s", "voice_fallback_grace_s"):
            if not 0 <= getattr(self, name) <= 3600:
                raise SettingsError(f"{name} must be within 0-3600")
        for talk_id, seconds in self.talk_offsets.items():
            if not -86400 <= seconds <= 86400:
                raise SettingsError(f"talk_offsets.{talk_id} must be within -86400-86400 s")

    @property
    def identifies_language(self) -> bool:
        """True when the recognizer identifies the language among ``languages``."""
        return len(self.languages) >= 2


@dataclass(frozen=True)
class ServerSettings:
    """Everything edge-server needs to run."""

    host: str = "127.0.0.1"
    """Address to listen on (``0.0.0.0`` to serve the display Pi and phones)."""
    port: int = 8080
    """TCP port."""
    state_dir: Path = Path("state")
    """Where rooms keep their transcripts (``{state_dir}/rooms/{room}/transcript.jsonl``)."""
    default_room: RoomSettings = field(default_factory=RoomSettings)
    """Settings of rooms not listed in ``rooms``."""
    rooms: Mapping[str, RoomSettings] = field(default_factory=dict)
    """Per-room settings by room name."""
    max_frame_bytes: int = 6400
    """Largest audio frame accepted (6400 bytes = 200 ms)."""
    backlog_default: int = 50
    """Finals sent to a new subscriber unless it asks for another number."""
    backlog_max: int = 500
    """Most finals a subscriber may ask for, and how many each room keeps in memory."""
    subscriber_queue: int = 256
    """Messages queued for one subscriber before it is dropped as too slow."""
    fsync: bool = True
    """fsync the transcript after every final (keep on for SD cards that lose power)."""
    unsaved_max: int = 5000
    """Most finals a room holds in memory while the disk refuses them (full, read-only); beyond
    it the oldest held final is dropped, logged whole and counted (docs/storage.md)."""
    min_free_mb: int = 256
    """Below this many MiB free on the state folder's file system, ``/healthz``, ``/metrics``
    and the status page warn (``low_space``); writing goes on until the disk refuses."""
    audio_idle_s: float = 3.0
    """Seconds without a frame before a connected source is reported as not flowing."""
    max_utterance_s: float = 15.0
    """Continuous speech longer than this is split into several finals."""
    offline_search: str = "adaptive"
    """The embedded recognizer's search: ``adaptive`` (steps between ``accurate``, ``fast`` and
    ``fastest`` by how far it lags behind the audio) or one of those fixed, or ``classic``
    (pocketsphinx's own two-pass defaults: slowest)."""
    aws_region: str = ""
    """AWS region for the cloud engines; empty: the standard chain (``AWS_REGION``, profile)."""
    transcribe_rotate_s: float = 13800.0
    """Open a new Transcribe stream (at a pause) after this long: the service stops at 4 h."""
    translate_timeout_s: float = 3.0
    """Longest wait for one translation; a late language is shown as missing."""
    audio_token: str = field(default="", repr=False)
    """Secret of the audio node (``EDGE_SERVER_AUDIO_TOKEN`` or the ``audio-token`` systemd
    credential); "" leaves the audio uplink open."""
    listener_token: str = field(default="", repr=False)
    """Secret of kiosks and phones (read only; in the QR code); "" leaves captions open."""
    admin_token: str = field(default="", repr=False)
    """Secret of the status page and settings changes; "" leaves them open."""
    allowed_origins: tuple[str, ...] = ()
    """Other web origins whose pages may use this server (``https://captions.example.org``);
    the server's own origin is always allowed."""
    public_url: str = ""
    """The server's address as phones reach it, for the QR code (``http://10.0.0.5:8080``);
    "" uses the address the kiosk used."""
    connect_burst: int = 60
    """Connection attempts one client address may make at once (WebSockets and the API)."""
    connect_rate: float = 10.0
    """Connection attempts per second one address may make after its burst."""
    trusted_proxies: tuple[str, ...] = ()
    """Reverse proxies (addresses and networks: ``127.0.0.1, 10.0.0.0/8``) whose
    ``proxy_header`` names the client; from any other peer the header is ignored. Empty: the
    socket peer is always the client."""
    proxy_header: str = "x-forwarded-for"
    """The header the trusted proxies write: ``x-forwarded-for`` (with ``X-Forwarded-Proto``
    and ``X-Forwarded-Host``; nginx, Caddy) or ``forwarded`` (RFC 7239)."""
    tls_certificate: Path | None = None
    """PEM certificate chain to serve HTTPS and WSS directly (None: plain HTTP). Default: the
    ``tls.crt`` (or ``tls.pem``) systemd credential when there is one."""
    tls_key: Path | None = None
    """PEM private key of ``tls_certificate`` (None: the key is in the certificate file).
    Default: the ``tls.key`` systemd credential."""
    schedule: str = ""
    """The conference schedule (Schedule XML from pretalx, frab, pentabarf): a file path or
    an ``http(s)://`` URL; "" for none. Finals are then attributed to talks (docs/talks.md)."""
    schedule_refresh_s: float = 300.0
    """How often the schedule is read again (a file that changed, a URL)."""
    schedule_timeout_s: float = 20.0
    """Longest wait for the schedule URL to answer completely."""
    glossary: Path | None = None
    """The conference's glossary (TOML: ``[corrections]`` and ``terms``), applied to every final
    of every room before it is stored; None for none (docs/glossary.md)."""
    trust_clock: bool = False
    """Attribute finals to talks even while the kernel says the clock is not synchronized (a
    Pi with a real-time clock module, or a clock set by hand)."""
    replicate_to: str = field(default="", repr=False)
    """Redis to copy every final and the room's status to (``redis://:PASSWORD@hub:6379/0`` or
    ``rediss://`` for TLS; docs/hub.md); "" replicates nothing. Never logged with its password."""
    replicate_maxlen: int = 100_000
    """Most finals each room's Redis stream keeps (older ones are trimmed, in Redis only)."""
    hub_redis: str = field(default="", repr=False)
    """``edge-server hub``: the Redis it serves from (``--redis``; same form as
    ``replicate_to``)."""
    hub_stale_s: float = 15.0
    """``edge-server hub``: a room with no status for this long is marked stale."""

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise SettingsError(f"port {self.port} is outside 1-65535")
        if not 640 <= self.max_frame_bytes <= 32000 or self.max_frame_bytes % 2:
            raise SettingsError("max_frame_bytes must be even and within 640-32000")
        if not 0 <= self.backlog_default <= self.backlog_max <= 10000:
            raise SettingsError("need 0 <= backlog_default <= backlog_max <= 10000")
        _one_of("offline_search", self.offline_search, OFFLINE_SEARCH)
        if not 1 <= self.unsaved_max <= 1_000_000:
            raise SettingsError("unsaved_max must be within 1-1000000")
        if not 0 <= self.min_free_mb <= 1_000_000:
            raise SettingsError("min_free_mb must be within 0-1000000")
        if self.subscriber_queue < 8:
            raise SettingsError("subscriber_queue must be at least 8")
        for name in self.rooms:
            try:
                validate_room_name(name)
            except InvalidName as exc:
                raise SettingsError(f"[rooms.{name}]: {exc}") from None
        try:
            _ = self.tokens
        except TokenError as exc:
            raise SettingsError(str(exc)) from None
        if self.connect_burst < 1 or not 0 < self.connect_rate <= 100000:
            raise SettingsError("connect_burst must be >= 1 and connect_rate within 0-100000")
        for origin in self.allowed_origins:
            if not origin_allowed(origin, None, "http", [origin]):
                raise SettingsError(f"allowed_origins: {origin!r} is not an http(s) origin")
        if self.public_url and not self.public_url.startswith(("http://", "https://")):
            raise SettingsError(f"public_url {self.public_url!r} must start with http(s)://")
        try:
            parse_trusted_proxies(self.trusted_proxies)
        except ProxyListError as exc:
            raise SettingsError(f"trusted_proxies: {exc}") from None
        _one_of("proxy_header", self.proxy_header, PROXY_HEADERS)
        if not 5 <= self.schedule_refresh_s <= 86400:
            raise SettingsError("schedule_refresh_s must be within 5-86400")
        if not 0.5 <= self.schedule_timeout_s <= 600:
            raise SettingsError("schedule_timeout_s must be within 0.5-600")
        if self.tls_key is not None and self.tls_certificate is None:
            raise SettingsError("tls_key is set but tls_certificate is not: give both")
        for name in ("replicate_to", "hub_redis"):
            if getattr(self, name):
                try:
                    check_url(getattr(self, name))
                except ReplicationUrlError as exc:
                    raise SettingsError(f"{name}: {exc}") from None
        if not 1 <= self.replicate_maxlen <= 100_000_000:
            raise SettingsError("replicate_maxlen must be within 1-100000000")
        if not 1 <= self.hub_stale_s <= 3600:
            raise SettingsError("hub_stale_s must be within 1-3600")

    @property
    def tokens(self) -> Tokens:
        """The role tokens (validated)."""
        return Tokens(audio=self.audio_token, listener=self.listener_token, admin=self.admin_token)

    def room(self, name: str) -> RoomSettings:
        """The settings of room ``name``."""
        return self.rooms.get(name, self.default_room)

    @property
    def proxy_networks(self) -> tuple[IpNetwork, ...]:
        """``trusted_proxies`` as networks (validated)."""
        return parse_trusted_proxies(self.trusted_proxies)

    @property
    def scheme(self) -> str:
        """``https`` when the server serves TLS itself, else ``http``."""
        return "https" if self.tls_certificate is not None else "http"


def _room_from_mapping(data: Mapping[str, Any], base: RoomSettings, where: str) -> RoomSettings:
    if not isinstance(data, Mapping):
        raise SettingsError(f"{where} must be a table of room settings")
    known = {f.name for f in dataclasses.fields(RoomSettings)}
    unknown = set(data) - known
    if unknown:
        raise SettingsError(
            f"{where}: unknown setting(s) {sorted(unknown)}; known: {sorted(known)}"
        )
    values: dict[str, Any] = dict(data)
    for key in (*_LANGUAGE_LISTS, *_NAME_LISTS):
        if key in values:
            items = values[key]
            if isinstance(items, str):
                items = [t for t in items.split(",") if t.strip()]
            if not isinstance(items, list) or not all(isinstance(t, str) for t in items):
                raise SettingsError(f"{where}.{key} must be a list of strings")
            values[key] = tuple(t.strip() for t in items)
    if "talk_offsets" in values:
        offsets = values["talk_offsets"]
        if not isinstance(offsets, dict) or not all(isinstance(k, str) for k in offsets):
            raise SettingsError(f"{where}.talk_offsets must be a table of talk id = seconds")
        values["talk_offsets"] = {
            k: _coerce(f"{where}.talk_offsets.{k}", v, float) for k, v in offsets.items()
        }
    if "voices" in values:
        voices = values["voices"]
        if not isinstance(voices, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in voices.items()
        ):
            raise SettingsError(f"{where}.voices must be a table of language = voice")
    for key, kind in (
        ("fallback", bool),
        ("cloud_glossary", bool),
        ("fallback_grace_s", float),
        ("voice_fallback_grace_s", float),
    ):
        if key in values:
            values[key] = _coerce(f"{where}.{key}", values[key], kind)
    try:
        return dataclasses.replace(base, **values)
    except SettingsError as exc:
        raise SettingsError(f"{where}: {exc}") from None


def _coerce(name: str, value: Any, kind: type) -> Any:
    if kind is bool and isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name} must be true or false, not {value!r}")
    if kind is bool and not isinstance(value, bool):
        raise SettingsError(f"{name} must be true or false, not {value!r}")
    if kind in (int, float) and isinstance(value, bool):
        raise SettingsError(f"{name} must be a number, not {value!r}")
    if kind is float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise SettingsError(f"{name} must be a number, not {value!r}") from None
        if not math.isfinite(number):
            raise SettingsError(f"{name} must be a finite number, not {value!r}")
        return number
    if kind is tuple:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
            raise SettingsError(f"{name} must be a list of strings")
        return tuple(i.strip() for i in items if i.strip())
    try:
        return kind(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf)
        raise SettingsError(f"{name} must be {kind.__name__}, not {value!r}") from None


_SCALARS: dict[str, type] = {
    "host": str,
    "port": int,
    "state_dir": Path,
    "max_frame_bytes": int,
    "backlog_default": int,
    "backlog_max": int,
    "subscriber_queue": int,
    "fsync": bool,
    "unsaved_max": int,
    "min_free_mb": int,
    "audio_idle_s": float,
    "max_utterance_s": float,
    "offline_search": str,
    "aws_region": str,
    "transcribe_rotate_s": float,
    "translate_timeout_s": float,
    "allowed_origins": tuple,
    "public_url": str,
    "connect_burst": int,
    "connect_rate": float,
    "trusted_proxies": tuple,
    "proxy_header": str,
    "tls_certificate": Path,
    "tls_key": Path,
    "schedule": str,
    "schedule_refresh_s": float,
    "schedule_timeout_s": float,
    "trust_clock": bool,
    "glossary": Path,
    "replicate_to": str,
    "replicate_maxlen": int,
    "hub_redis": str,
    "hub_stale_s": float,
}
_OPTIONAL_PATHS = ("tls_certificate", "tls_key", "glossary")
"""Paths whose empty value means "not set"."""
_TOKENS = ("audio_token", "listener_token", "admin_token")
"""Secrets: from ``EDGE_SERVER_*_TOKEN`` or ``$CREDENTIALS_DIRECTORY/{role}-token`` files,
never from the config file (it is world-readable on many installs)."""
_ROOM_ENV = {
    "SOURCE_LANG": "source_lang",
    "LANGUAGES": "languages",
    "TARGETS": "targets",
    "ENGINE": "engine",
    "FALLBACK": "fallback",
    "CLOUD_GLOSSARY": "cloud_glossary",
    "TRANSLATOR": "translator",
    "SYNTHESIZER": "synthesizer",
    "VOICE_FALLBACK_GRACE_S": "voice_fallback_grace_s",
    "SCHEDULE_ROOM": "schedule_room",
}


def load_settings(
    config_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ServerSettings:
    """Build settings from a TOML file, then ``EDGE_SERVER_*`` variables, then ``overrides``.

    TOML layout: top-level scalars as in :class:`ServerSettings`, ``[default_room]``, and
    ``[rooms.NAME]`` tables (each inheriting ``[default_room]``).
    """
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    default_room_data: dict[str, Any] = {}
    rooms_data: dict[str, Any] = {}
    if config_file is not None:
        try:
            parsed = tomllib.loads(config_file.read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"cannot read config file {config_file}: {exc}") from None
        default_room_data = parsed.pop("default_room", {})
        rooms_data = parsed.pop("rooms", {})
        secrets = set(parsed) & set(_TOKENS)
        if secrets:
            raise SettingsError(
                f"{config_file}: {', '.join(sorted(secrets))} cannot be set in the config file; "
                "use EDGE_SERVER_*_TOKEN or the systemd credentials (audio-token, ...)"
            )
        unknown = set(parsed) - set(_SCALARS)
        if unknown:
            raise SettingsError(f"{config_file}: unknown setting(s) {sorted(unknown)}")
        raw.update(parsed)
    for key in _SCALARS:
        env_value = env.get(f"EDGE_SERVER_{key.upper()}")
        if env_value is not None:
            raw[key] = env_value
    raw.update(_read_tokens(env))
    if raw.get("tls_certificate") in (None, "") and not (overrides or {}).get("tls_certificate"):
        raw.update(_tls_credentials(env, raw))
    for env_key, key in _ROOM_ENV.items():
        env_value = env.get(f"EDGE_SERVER_{env_key}")
        if env_value is not None:
            default_room_data[key] = env_value
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key in _ROOM_ENV.values():
            default_room_data[key] = value
        else:
            raw[key] = value
    values = {
        key: value if key in _TOKENS else _coerce(key, value, _SCALARS[key])
        for key, value in raw.items()
        if not (key in _OPTIONAL_PATHS and value in ("", None))
    }
    default_room = _room_from_mapping(default_room_data, RoomSettings(), "default_room")
    if not isinstance(rooms_data, dict):
        raise SettingsError("[rooms] must be a table of rooms")
    rooms = {
        name: _room_from_mapping(data, default_room, f"rooms.{name}")
        for name, data in rooms_data.items()
    }
    return ServerSettings(default_room=default_room, rooms=rooms, **values)


def _read_tokens(env: Mapping[str, str]) -> dict[str, str]:
    """Tokens from the environment, else from systemd credentials (``LoadCredential=``)."""
    tokens: dict[str, str] = {}
    credentials = env.get("CREDENTIALS_DIRECTORY")
    for key in _TOKENS:
        value = env.get(f"EDGE_SERVER_{key.upper()}")
        if value is None and credentials:
            path = Path(credentials) / key.replace("_", "-")
            try:
                value = path.read_text()
            except FileNotFoundError:
                value = None
            except (OSError, UnicodeDecodeError) as exc:
                raise SettingsError(f"cannot read credential {path}: {exc}") from None
        if value is not None:
            tokens[key] = value.strip()
    return tokens


TLS_CREDENTIALS = ("tls.crt", "tls.key", "tls.pem")
"""systemd credentials read for HTTPS when ``tls_certificate`` is not set: ``tls.crt`` and
``tls.key``, or ``tls.pem`` holding the chain and the key together (one ``LoadCredential=``)."""


def _tls_credentials(env: Mapping[str, str], raw: Mapping[str, Any]) -> dict[str, Path]:
    """The certificate and key from ``$CREDENTIALS_DIRECTORY``, when the service has them."""
    credentials = env.get("CREDENTIALS_DIRECTORY")
    if not credentials:
        return {}
    folder = Path(credentials)
    crt, key, pem = (folder / name for name in TLS_CREDENTIALS)
    if crt.exists():
        found = {"tls_certificate": crt}
        if key.exists() and raw.get("tls_key") in (None, ""):
            found["tls_key"] = key
        return found
    if pem.exists():
        return {"tls_certificate": pem}
    if key.exists():
        raise SettingsError(f"credential {key} has no tls.crt beside it: load both (or tls.pem)")
    return {}

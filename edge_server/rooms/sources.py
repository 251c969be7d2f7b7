"""Who is a room's audio source: at most one at a time, claimed at ``hello``, released when its
session's last finals are on disk, and replaced at once when the same node reconnects after a
partition while its old connection is still held open."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from edge_server.contract.audio_format import BYTES_PER_SECOND
from edge_server.contract.uplink import ErrorCode, ProtocolError, SignalLevel, StreamHello

log = logging.getLogger(__name__)

FINISH_TIMEOUT_S = 60.0
"""Longest wait for a session's last finals (the recognizer finishing its utterance)."""


@dataclass
class SourceInfo:
    """The audio source currently connected to a room."""

    session: str
    client_name: str
    client_version: str
    language: str
    remote: str
    device: str = ""
    connected_at: float = field(default_factory=time.monotonic)
    last_frame_at: float | None = None
    audio_bytes: int = 0
    finals: int = 0
    signal: SignalLevel | None = None
    """The node's last ``level`` report."""
    gaps: int = 0
    """How many times the node reported a gap (it reconnected after being away)."""
    dropped_s: float = 0.0
    """Seconds of audio the node reported dropping while away."""
    stream: str | None = None
    """The node's stream id (``hello.stream``); None for a node that sends no positions."""
    repeated_bytes: int = 0
    """Audio the node sent again after a reconnect that the room already had (not
    recognized twice)."""
    abort: Callable[[], None] | None = field(default=None, repr=False)
    """Drops this source's connection at once (to let the same node reconnect)."""
    released: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    """Set when the room has let go of this source (its last finals are on disk)."""

    @property
    def audio_seconds(self) -> float:
        """Seconds of audio received on this connection."""
        return self.audio_bytes / BYTES_PER_SECOND

    def audio_state(self, idle_s: float, now: float | None = None) -> str:
        """``flowing`` (a frame within ``idle_s``) or ``connected``."""
        now = time.monotonic() if now is None else now
        last = self.last_frame_at
        return "flowing" if last is not None and now - last <= idle_s else "connected"


class SourceSlot:
    """A room's one place for an audio source."""

    def __init__(self, room: str, idle_s: float, on_change: Callable[[], None]) -> None:
        """``idle_s``: no frame for this long and audio is "connected", not "flowing";
        ``on_change`` is called whenever the source comes, goes or reports its signal."""
        self.room = room
        self.idle_s = idle_s
        self.current: SourceInfo | None = None
        self.sessions_started = 0
        self._on_change = on_change

    def audio_state(self, now: float | None = None) -> str:
        """``flowing``, ``connected`` (no frame for a while) or ``absent``."""
        if self.current is None:
            return "absent"
        return self.current.audio_state(self.idle_s, now)

    def claim(
        self,
        hello: StreamHello,
        remote: str,
        *,
        configured_language: str,
        language_override: bool,
        supported: frozenset[str] | None,
        engine: str,
    ) -> SourceInfo:
        """Become the room's audio source, or raise ``source_busy``/``unsupported_language``.

        The language is the node's, unless the tech lead chose one (``language_override``) or
        the node did not say; it must be one the recognizer (``engine``) supports.
        """
        if self.current is not None:
            raise ProtocolError(
                ErrorCode.SOURCE_BUSY,
                f"room {self.room} already has an audio source ({self.current.client_name} "
                f"from {self.current.remote}); stop it first",
            )
        if language_override or not hello.language:
            language = configured_language
        else:
            language = hello.language
        if supported is not None and language not in supported:
            raise ProtocolError(
                ErrorCode.UNSUPPORTED_LANGUAGE,
                f"the {engine} recognizer of room {self.room} supports "
                f"{', '.join(sorted(supported))}, not {language}",
            )
        self.sessions_started += 1
        self.current = SourceInfo(
            session=f"{self.room}-{self.sessions_started}",
            client_name=hello.client_name,
            client_version=hello.client_version,
            language=language,
            remote=remote,
            device=hello.device,
            stream=hello.stream,
        )
        self._on_change()
        return self.current

    def release(self, source: SourceInfo) -> None:
        """Forget the audio source (after its session has finished)."""
        source.released.set()
        if self.current is source:
            self.current = None
            self._on_change()

    def update_signal(self, source: SourceInfo, level: SignalLevel) -> None:
        """The node reported its signal level."""
        if level.no_signal and (source.signal is None or not source.signal.no_signal):
            log.warning("room %s: no signal from %s for %.0f s", self.room, source.session,
                        level.silent_s)  # fmt: skip
        source.signal = level
        self._on_change()

    def stale_for(self, hello: StreamHello, remote: str) -> SourceInfo | None:
        """The current source, if ``hello`` looks like the same node reconnecting to replace it.

        After a network partition the server may hold the old connection until its heartbeat
        notices (20 s), while the node has already reconnected. The same client from the same
        address, while the old connection has sent no audio for ``idle_s``, replaces it.
        A second, different source is still refused with ``source_busy``.
        """
        source = self.current
        if source is None or source.remote != remote or source.client_name != hello.client_name:
            return None
        return source if self.audio_state() != "flowing" else None

    async def replace_stale(self, source: SourceInfo) -> None:
        """Drop ``source``'s connection and wait until what it sent is finalized."""
        log.warning(
            "room %s: %s from %s reconnected while its old connection %s was silent for "
            "%.0f s: replacing it",
            self.room, source.client_name, source.remote, source.session,
            time.monotonic() - (source.last_frame_at or source.connected_at),
        )  # fmt: skip
        if source.abort is not None:
            source.abort()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(source.released.wait(), FINISH_TIMEOUT_S)

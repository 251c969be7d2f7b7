"""What the Transcribe fake is told to do (scripts) and what it saw (records)."""

from __future__ import annotations

from dataclasses import dataclass, field


def flag(value: str | None) -> bool:
    """A boolean request header (the SDK sends ``True``/``False``)."""
    return (value or "").lower() == "true"


@dataclass
class StreamScript:
    """What the fake does with one request (scripts are used in order of arrival)."""

    reject_status: int | None = None
    """Answer the request itself with this HTTP status and ``reject_type``."""
    reject_type: str = "BadRequestException"
    reject_message: str = "scripted rejection"
    exception_after_s: float | None = None
    """After this much audio, send an event-stream exception and end the stream."""
    exception_type: str = "LimitExceededException"
    exception_message: str = "scripted exception"
    drop_after_s: float | None = None
    """After this much audio, abort the TCP connection."""
    event_delay_s: float = 0.0
    """Send every event this much later (a slow service)."""
    hang: bool = False
    """Never answer the request."""
    answer_delay_s: float = 0.0
    """Answer the request (headers) this much later; audio received meanwhile is kept."""
    stop_acking_after_s: float | None = None
    """After this much audio, stop granting flow-control window (a network that died)."""


@dataclass
class EmittedEvent:
    """One transcript event as the fake wrote it to the socket."""

    text: str
    is_partial: bool
    at: float
    """``time.monotonic()`` right after the bytes were handed to the socket."""


@dataclass
class RecordedStream:
    """What one request carried and what the fake answered."""

    index: int
    headers: dict[str, str]
    audio: bytearray = field(default_factory=bytearray)
    audio_events: int = 0
    client_ended: bool = False
    """The client sent its end-of-audio marker (an empty signed message)."""
    closed: bool = False
    emitted: list[EmittedEvent] = field(default_factory=list)

    @property
    def audio_s(self) -> float:
        """Seconds of 16 kHz s16le audio received."""
        return len(self.audio) / 32000

    def header(self, name: str) -> str | None:
        """A request header (names are lower case)."""
        return self.headers.get(name)

    @property
    def vocabulary_name(self) -> str | None:
        """The custom vocabulary the stream was opened with (a fixed language), or None."""
        return self.headers.get("x-amzn-transcribe-vocabulary-name")

    @property
    def vocabulary_names(self) -> list[str]:
        """The custom vocabularies of a stream that identifies the language (one per
        language), or []."""
        value = self.headers.get("x-amzn-transcribe-vocabulary-names")
        return value.split(",") if value else []

    @property
    def access_key(self) -> str | None:
        """The access key id from the SigV4 ``Authorization`` header."""
        auth = self.headers.get("authorization", "")
        if "Credential=" not in auth:
            return None
        return auth.split("Credential=", 1)[1].split("/", 1)[0]

    @property
    def signing_region(self) -> str | None:
        """The region from the SigV4 credential scope."""
        auth = self.headers.get("authorization", "")
        if "Credential=" not in auth:
            return None
        return auth.split("Credential=", 1)[1].split("/")[2]

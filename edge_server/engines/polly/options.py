"""Settings of the Polly synthesizer, its timing records, and the choice of path. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from edge_server.engines.aws.target import AwsTarget

STREAMING_ENGINE = "generative"


@dataclass(frozen=True)
class PollyOptions:
    """How a room uses Amazon Polly."""

    region: str | None = None
    """AWS region; None: ``AWS_REGION``, ``AWS_DEFAULT_REGION`` or the profile's region."""
    engine: str = "generative"
    """Polly engine: ``generative`` (bidirectional streaming), ``neural``, ``standard``,
    ``long-form``."""
    fallback_engines: tuple[str, ...] = ("neural",)
    """Engines tried, in order, for a language without a voice for ``engine``."""
    voices: Mapping[str, str] = field(default_factory=dict)
    """Preferred voice id per language (``{"it": "Bianca"}``); other languages get a default."""
    streaming: bool | None = None
    """None: bidirectional streaming when possible; False: always classic."""
    timeout_s: float = 10.0
    """Longest wait for the first audio byte, and between chunks."""
    max_concurrency: int = 4
    """Concurrent syntheses (threads of the classic path, connections of the streaming pool)."""
    endpoint_url: str | None = None
    """Endpoint override; None: ``AWS_ENDPOINT_URL_POLLY``, ``AWS_ENDPOINT_URL`` or the profile
    (boto3 resolves them). Any override means the classic path."""
    ca_bundle: str | None = None
    """PEM file of CAs to trust; None: ``AWS_CA_BUNDLE`` or the profile's. Means classic."""

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or not 1 <= self.max_concurrency <= 32:
            raise ValueError("timeout_s must be positive and max_concurrency within 1-32")


@dataclass(frozen=True)
class SynthesisTiming:
    """One sentence's synthesis."""

    language: str
    voice_id: str
    path: str
    """``streaming`` or ``classic``."""
    characters: int
    first_audio_s: float | None
    """Seconds from the call to the first audio byte (None if no audio came)."""
    total_s: float
    ok: bool


def streaming_path(
    option: bool | None, *, library: bool, engine: str, target: AwsTarget | None
) -> tuple[bool, str]:
    """Whether to use bidirectional streaming, and why (for the log). Pure."""
    if option is False:
        return False, "classic SynthesizeSpeech by configuration"
    if not library:
        return False, "amazon-polly-streaming needs Python 3.13 or later (classic SynthesizeSpeech)"
    if engine != STREAMING_ENGINE:
        return False, f"bidirectional streaming needs the generative engine, not {engine}"
    if target is not None and (target.endpoint_url or target.ca_bundle):
        return False, "an endpoint or CA override is set, which amazon-polly-streaming cannot use"
    return True, "bidirectional streaming (amazon-polly-streaming)"

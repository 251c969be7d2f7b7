"""Who may do what: role tokens, Origin checks and connection-attempt limits. Pure.

Three roles, each with its own optional secret:

- ``audio``: the audio node's uplink (it starts paid cloud work);
- ``listener``: read-only captions, exports and the QR code (it is printed on the door);
- ``admin``: the status API and live settings changes.

A role without a token is open (local use). Tokens are compared in constant time and never
appear in a ``repr`` or a log line. Nothing here touches sockets: the web adapters call
:func:`check_token`, :func:`origin_allowed` and :class:`AttemptLimiter`.
"""

from __future__ import annotations

import enum
import hmac
import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MIN_TOKEN_LENGTH = 16
"""Shorter tokens are refused at start: they could be guessed through the attempt limit."""
MAX_PRESENTED_LENGTH = 512
"""A presented token longer than this is refused without comparing."""


class Role(enum.Enum):
    """A kind of client, with its own token."""

    AUDIO = "audio"
    LISTENER = "listener"
    ADMIN = "admin"


class Refusal(enum.Enum):
    """Why a request was refused: an error code, a WebSocket close code and an HTTP status."""

    TOKEN_MISSING = ("token_missing", 4010, 401)
    TOKEN_WRONG = ("token_wrong", 4011, 403)
    ORIGIN_REFUSED = ("origin_refused", 4012, 403)
    TOO_MANY_ATTEMPTS = ("too_many_attempts", 1008, 429)

    @property
    def code(self) -> str:
        """The error code in JSON bodies and close reasons."""
        return self.value[0]

    @property
    def close_code(self) -> int:
        """The WebSocket close code."""
        return self.value[1]

    @property
    def http_status(self) -> int:
        """The HTTP status for plain requests."""
        return self.value[2]


class TokenError(ValueError):
    """A configured token is unusable (too short, has spaces, shared between roles)."""


@dataclass(frozen=True)
class Tokens:
    """The configured secret of each role; an empty string leaves that role open."""

    audio: str = field(default="", repr=False)
    listener: str = field(default="", repr=False)
    admin: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for role in Role:
            token = self.of(role)
            if not token:
                continue
            if len(token) < MIN_TOKEN_LENGTH or len(token) > MAX_PRESENTED_LENGTH:
                raise TokenError(
                    f"the {role.value} token must be {MIN_TOKEN_LENGTH}-{MAX_PRESENTED_LENGTH} "
                    f"characters (it has {len(token)})"
                )
            if any(c.isspace() or not c.isprintable() for c in token):
                raise TokenError(f"the {role.value} token contains spaces or control characters")
            if token in seen:
                raise TokenError(
                    f"the {role.value} and {seen[token]} tokens are the same; "
                    "each role needs its own secret"
                )
            seen[token] = role.value

    def of(self, role: Role) -> str:
        """The token of ``role`` ("" when the role is open)."""
        return str(getattr(self, role.value))

    def open_roles(self) -> list[Role]:
        """Roles that need no token."""
        return [role for role in Role if not self.of(role)]


def check_token(tokens: Tokens, accepted: Iterable[Role], presented: str | None) -> Refusal | None:
    """None when ``presented`` grants one of the ``accepted`` roles, else why not.

    The first accepted role is the one the endpoint is for: without its token the endpoint is
    open (reading is open without a listener token, even if an admin token is set). Otherwise
    every configured token of an accepted role is compared, in constant time, so timing does
    not tell which one nearly matched.
    """
    roles = list(accepted)
    if not roles or not tokens.of(roles[0]):
        return None
    roles = [role for role in roles if tokens.of(role)]
    if not presented:
        return Refusal.TOKEN_MISSING
    if len(presented) > MAX_PRESENTED_LENGTH:
        return Refusal.TOKEN_WRONG
    given = presented.encode()
    matched = False
    for role in roles:
        matched |= hmac.compare_digest(given, tokens.of(role).encode())
    return None if matched else Refusal.TOKEN_WRONG


def presented_token(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The token a request carries: ``Authorization: Bearer ...`` first, else ``?token=``."""
    header = headers.get("Authorization", "")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    token = query.get("token")
    return token if token else None


def _origin_key(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    default = 443 if scheme == "https" else 80
    return scheme, parts.hostname.lower(), port or default


def origin_allowed(
    origin: str | None, host: str | None, scheme: str, allowed: Iterable[str] = ()
) -> bool:
    """Whether a browser request from ``origin`` may use this server at ``scheme://host``.

    No ``Origin`` header (the audio node, command-line clients): allowed. Otherwise the origin
    must be this server's own or listed in ``allowed`` (``https://captions.example.org``).
    ``null`` and malformed origins are refused.
    """
    if origin is None:
        return True
    key = _origin_key(origin)
    if key is None:
        return False
    if host and key == _origin_key(f"{scheme}://{host}"):
        return True
    return any(key == _origin_key(entry) for entry in allowed)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class AttemptLimiter:
    """A token bucket of connection attempts per client address.

    Each address may make ``burst`` attempts at once and ``rate`` per second after that; a
    refused token costs :attr:`failure_cost` attempts, so guessing is slow. At most
    ``max_addresses`` addresses are remembered (the least recently seen are forgotten).
    """

    failure_cost = 5.0

    def __init__(self, burst: int, rate: float, max_addresses: int = 4096) -> None:
        if burst < 1 or rate <= 0:
            raise ValueError("burst must be >= 1 and rate > 0")
        self.burst = float(burst)
        self.rate = rate
        self.max_addresses = max_addresses
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def _bucket(self, address: str, now: float) -> _Bucket:
        bucket = self._buckets.get(address)
        if bucket is None:
            bucket = _Bucket(self.burst, now)
            self._buckets[address] = bucket
            while len(self._buckets) > self.max_addresses:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(address)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        return bucket

    def attempt(self, address: str, now: float) -> float:
        """Count one attempt; 0.0 when allowed, else seconds to wait before the next one."""
        bucket = self._bucket(address, now)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def failed(self, address: str, now: float) -> None:
        """An attempt from ``address`` presented a wrong token: charge it more."""
        bucket = self._bucket(address, now)
        bucket.tokens = max(-self.burst, bucket.tokens - self.failure_cost)

    @staticmethod
    def retry_after(wait_s: float) -> int:
        """``Retry-After`` seconds for a wait (at least 1)."""
        return max(1, math.ceil(wait_s))

"""Opening a Redis connection from a ``redis://`` or ``rediss://`` address, and saying what went
wrong in words that never contain the password."""

from __future__ import annotations

from urllib.parse import urlsplit

from redis import exceptions as redis_errors
from redis.asyncio import Redis

from edge_server.core.replication import check_url, redact_url

CONNECT_TIMEOUT_S = 5.0
"""Longest wait to open a connection (an unreachable host fails within this)."""
COMMAND_TIMEOUT_S = 10.0
"""Longest wait for one reply (a hung Redis fails within this: work stays bounded)."""

REDIS_FAILURES: tuple[type[BaseException], ...] = (redis_errors.RedisError, OSError)
"""What a Redis call may raise when Redis or the network is away."""


def open_redis(url: str, *, command_timeout_s: float = COMMAND_TIMEOUT_S) -> Redis:
    """A client for ``url`` (validated); it connects on first use. ``command_timeout_s`` must
    exceed any blocking read's own timeout."""
    check_url(url)
    return Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=command_timeout_s,
        health_check_interval=30,
        decode_responses=False,
    )


def describe_failure(exc: BaseException, url: str) -> str:
    """A failure in words for the log and the status page (the password redacted)."""
    if isinstance(exc, redis_errors.AuthenticationError) or "WRONGPASS" in str(exc):
        text = "wrong password or user refused by Redis (check the address's credentials)"
    elif isinstance(exc, redis_errors.ResponseError) and "NOAUTH" in str(exc):
        text = "Redis wants a password and the address gives none"
    elif isinstance(exc, redis_errors.TimeoutError):
        text = "Redis did not answer in time"
    elif isinstance(exc, (redis_errors.ConnectionError, OSError)):
        text = f"cannot reach Redis: {exc}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    password = urlsplit(url).password
    if password:
        text = text.replace(password, "***")
    return f"{text} [{redact_url(url)}]"

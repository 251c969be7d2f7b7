"""The web side of :mod:`edge_server.core.auth`: who may open which socket or call which API.

WebSockets are refused in two places: over the attempt limit with HTTP 429 before any upgrade
(cheap, for bursts), and for a missing or wrong token or a foreign Origin *after* the upgrade,
with a close code and reason a browser page can read (4010, 4011, 4012).
"""

from __future__ import annotations

import logging
import time

from aiohttp import web

from edge_server.core.auth import (
    AttemptLimiter,
    Refusal,
    Role,
    check_token,
    origin_allowed,
    presented_token,
)
from edge_server.web.app_keys import SETTINGS
from edge_server.web.errors import json_error

log = logging.getLogger(__name__)

LIMITER = web.AppKey("attempt_limiter", AttemptLimiter)
READ_ROLES = (Role.LISTENER, Role.ADMIN)
"""Who may read captions, exports and the QR code."""

_MESSAGES = {
    Refusal.TOKEN_MISSING: "this needs the {roles} token (Authorization: Bearer, or ?token=)",
    Refusal.TOKEN_WRONG: "that is not the {roles} token",
    Refusal.ORIGIN_REFUSED: "pages from {origin} may not use this server (allowed_origins)",
}


def install_limiter(app: web.Application) -> None:
    """Create the per-address attempt limiter from the settings."""
    settings = app[SETTINGS]
    app[LIMITER] = AttemptLimiter(settings.connect_burst, settings.connect_rate)


def limit_attempts(request: web.Request) -> None:
    """Count a connection attempt; raise HTTP 429 ``too_many_attempts`` over the limit."""
    wait = request.app[LIMITER].attempt(request.remote or "?", time.monotonic())
    if wait > 0:
        retry = AttemptLimiter.retry_after(wait)
        raise json_error(
            web.HTTPTooManyRequests,
            Refusal.TOO_MANY_ATTEMPTS.code,
            f"too many connection attempts from {request.remote}; retry in {retry} s",
            headers={"Retry-After": str(retry)},
        )


def refusal_for(request: web.Request, roles: tuple[Role, ...]) -> tuple[Refusal, str] | None:
    """Why ``request`` may not act as one of ``roles`` (Origin, then token), or None."""
    settings = request.app[SETTINGS]
    origin = request.headers.get("Origin")
    if not origin_allowed(origin, request.host, request.scheme, settings.allowed_origins):
        return Refusal.ORIGIN_REFUSED, _MESSAGES[Refusal.ORIGIN_REFUSED].format(
            origin=origin[:100] if origin else "?"
        )
    refusal = check_token(settings.tokens, roles, presented_token(request.headers, request.query))
    if refusal is None:
        return None
    request.app[LIMITER].failed(request.remote or "?", time.monotonic())
    names = " or ".join(role.value for role in roles)
    log.info("refused %s from %s: %s", request.path, request.remote, refusal.code)
    return refusal, _MESSAGES[refusal].format(roles=names)


def require_http(request: web.Request, roles: tuple[Role, ...]) -> None:
    """For plain HTTP: raise 429, 401 or 403 with a JSON reason unless allowed."""
    limit_attempts(request)
    refused = refusal_for(request, roles)
    if refused is None:
        return
    refusal, message = refused
    status = {401: web.HTTPUnauthorized, 403: web.HTTPForbidden}[refusal.http_status]
    headers = {"WWW-Authenticate": "Bearer"} if refusal.http_status == 401 else None
    raise json_error(status, refusal.code, message, headers=headers)


async def close_refused(ws: web.WebSocketResponse, refusal: Refusal, message: str) -> None:
    """Close an upgraded socket with the refusal's code and ``code: message`` as reason."""
    reason = f"{refusal.code}: {message}".encode("ascii", "replace")[:120]
    await ws.close(code=refusal.close_code, message=reason)

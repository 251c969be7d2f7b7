"""What a client makes of the server's replies: parse them, and decide which refusals are final.

Shared by ``edge-audio`` (the uplink and its reconnect loop) and ``edge-server follow``, so both
retry and give up for the same reasons (as websockets keeps such decisions in its pure protocol
layer, away from the socket code). Pure, no I/O.
"""

from __future__ import annotations

import json
from typing import Any

from edge_server.contract import close_codes
from edge_server.contract.uplink import CLOSE_CODES, ErrorCode

FINAL_ERROR_CODES = frozenset(
    {
        "bad_hello",
        "unsupported_format",
        "unsupported_language",
        "invalid_room",
        "token_missing",
        "token_wrong",
        "origin_refused",
    }
)
"""Refusals that retrying unchanged cannot fix: a configuration problem to fix first."""
FINAL_CLOSE_CODES = close_codes.CONFIGURATION | close_codes.REFUSED
RETRYABLE_HTTP = frozenset({"http_408", "http_429"})
"""HTTP refusals that mean "not now" rather than "never"."""
WARNING_CODES = frozenset(str(code) for code in ErrorCode if code not in CLOSE_CODES)
"""``error`` codes after which the server keeps the stream open (e.g. ``unknown_type``)."""


class ServerMessageError(ValueError):
    """The server sent something that is not a JSON object with a string ``type``."""


def parse_server_message(text: str | bytes) -> dict[str, Any]:
    """Parse a server text message for a client; raise :class:`ServerMessageError` if malformed."""
    try:
        obj = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ServerMessageError(f"server sent invalid JSON: {exc}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise ServerMessageError("server message is not an object with a string 'type'")
    return obj


def is_warning(error_code: object) -> bool:
    """True for an ``error`` message after which the stream goes on."""
    return str(error_code) in WARNING_CODES


def refusal_from_close(code: int, reason: str) -> tuple[str, str] | None:
    """``(error code, message)`` when a close is the server refusing or explaining itself (its
    reason reads ``code: message``); None for a close that says nothing (a plain loss)."""
    if not close_codes.is_server_refusal(code):
        return None
    error, _, message = reason.partition(": ")
    return error or "closed", message or reason


def refusal_from_http(status: int, reason_phrase: str, body: bytes) -> tuple[str, str] | None:
    """``(error code, message)`` for an HTTP 4xx answer to the WebSocket upgrade, with the code
    and message of its JSON body when it has one; None for other statuses (a loss: retry)."""
    if not 400 <= status < 500:
        return None
    try:
        parsed = parse_server_message(body)
    except ServerMessageError:
        return f"http_{status}", f"HTTP {status} {reason_phrase}"
    code = str(parsed.get("code", f"http_{status}"))
    return code, f"{parsed.get('message', reason_phrase)} (HTTP {status})"


def is_fatal(code: str, close_code: int | None) -> bool:
    """True for a refusal that retrying cannot fix (``close_code`` None: an HTTP refusal or an
    ``error`` without a close)."""
    if code in FINAL_ERROR_CODES or close_code in FINAL_CLOSE_CODES:
        return True
    http = close_code is None and code.startswith("http_4")
    return http and code not in RETRYABLE_HTTP

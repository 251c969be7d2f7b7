"""Every WebSocket close code the server uses, on both sockets, in one table. Pure.

Clients (``edge-audio``, ``edge-server follow``, the pages) read a close code to decide whether
to reconnect; the server picks one to say why it closed. Codes 4000-4999 are this protocol's
own (RFC 6455 leaves them to applications); docs/protocol.md lists the same table.
"""

from __future__ import annotations

NORMAL = 1000
"""The stream ended as asked (``end`` answered by ``ended``)."""
GOING_AWAY = 1001
"""``shutting_down``: the server is stopping or restarting; reconnect."""
POLICY_VIOLATION = 1008
"""``too_many_attempts``: over the per-address attempt budget; retry later."""
INTERNAL_ERROR = 1011
"""``recognizer_failed``: the room's recognizer failed; reconnect."""

BAD_HELLO = 4000
UNSUPPORTED_FORMAT = 4001
UNSUPPORTED_LANGUAGE = 4002
BAD_FRAME = 4003
BAD_MESSAGE = 4004
TOO_SLOW = 4008
"""A caption subscriber whose queue filled up was dropped."""
SOURCE_BUSY = 4009
TOKEN_MISSING = 4010
TOKEN_WRONG = 4011
ORIGIN_REFUSED = 4012

REFUSED = frozenset({TOKEN_MISSING, TOKEN_WRONG, ORIGIN_REFUSED})
"""Closes that say the client is not allowed: retrying with the same token will not help."""
CONFIGURATION = frozenset({BAD_HELLO, UNSUPPORTED_FORMAT, UNSUPPORTED_LANGUAGE})
"""Closes an audio client's configuration causes: retrying unchanged will not help."""


def is_server_refusal(code: int) -> bool:
    """True for a close code by which the server explains itself (its reason then reads
    ``error_code: message``): this protocol's own codes, going away, policy, internal error."""
    return 4000 <= code <= 4999 or code in (GOING_AWAY, POLICY_VIOLATION, INTERNAL_ERROR)

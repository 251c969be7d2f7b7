"""What command-line clients need from the wire, shared by ``edge-audio`` and
``edge-server follow``: server URLs turned into WebSocket URLs, and captions as terminal lines.
Pure functions.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

EN_DASH = "\u2013"


def websocket_url(server: str, path: str, query: dict[str, str] | None = None) -> str:
    """``path`` on ``server`` (``http(s)://``, ``ws(s)://`` or bare ``host:port``) as a
    ``ws(s)://`` URL; a path on ``server`` is kept as a prefix. Raises ValueError if unusable."""
    text = server.strip()
    if "://" not in text:
        text = "ws://" + text
    parts = urlsplit(text)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme.lower())
    if scheme is None:
        raise ValueError(
            f"server URL {server!r} must start with http://, https://, ws:// or wss://"
        )
    if not parts.hostname:
        raise ValueError(f"server URL {server!r} has no host")
    if parts.query or parts.fragment:
        raise ValueError(f"server URL {server!r} must not have a query or fragment")
    full_path = parts.path.rstrip("/") + path
    return urlunsplit((scheme, parts.netloc, full_path, urlencode(query or {}), ""))


def format_clock(seconds: float) -> str:
    """``75.25 -> '01:15.3'``; hours appear only when needed (``'1:02:03.0'``)."""
    tenths = max(0, round(seconds * 10))
    hours, rest = divmod(tenths, 36000)
    minutes, rest = divmod(rest, 600)
    clock = f"{minutes:02d}:{rest // 10:02d}.{rest % 10}"
    return f"{hours}:{clock}" if hours else clock


def format_final(msg: dict[str, Any]) -> str:
    """A ``final`` message as terminal lines: ``[start-end] text`` (an en dash between the
    times), then one indented line per translation."""
    start, end = msg.get("start"), msg.get("end")
    span = (
        f"[{format_clock(start)}{EN_DASH}{format_clock(end)}]"
        if isinstance(start, int | float) and isinstance(end, int | float)
        else "[?]"
    )
    lines = [f"{span} {msg.get('text', '')}"]
    translations = msg.get("translations")
    if isinstance(translations, dict):
        pad = " " * len(span)
        lines += [f"{pad} {lang}: {text}" for lang, text in sorted(translations.items())]
    return "\n".join(lines)

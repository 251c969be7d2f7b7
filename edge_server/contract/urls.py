"""Where a client finds the server's sockets: server URLs turned into WebSocket URLs. Pure."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit


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


def audio_url(server: str, room: str) -> str:
    """The uplink URL for ``room`` on ``server`` (see :func:`websocket_url`)."""
    return websocket_url(server, f"/ws/audio/{room}")


def captions_url(server: str, room: str, backlog: int, partials: bool) -> str:
    """The captions WebSocket URL of ``room`` on ``server``."""
    query = {"backlog": str(backlog), "partials": str(int(partials))}
    return websocket_url(server, f"/ws/captions/{room}", query)

"""The web side of :mod:`edge_server.core.forwarded`: behind a trusted reverse proxy, every
handler sees the client's address as ``request.remote`` (and the scheme and host the client
used), so the attempt limiter, the logs and the status page count clients, not the proxy.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from edge_server.core.forwarded import HEADER_NAMES, IpNetwork, client_view
from edge_server.web.app_keys import SETTINGS

log = logging.getLogger(__name__)

PROXY_NETWORKS = web.AppKey("proxy_networks", tuple[IpNetwork, ...])
_PROBLEMS_SAID = web.AppKey("proxy_problems_said", set[str])
_MAX_PROBLEMS_SAID = 16


def install_proxies(app: web.Application) -> None:
    """Read ``trusted_proxies`` once and put the middleware in front of every handler."""
    networks = app[SETTINGS].proxy_networks
    app[PROXY_NETWORKS] = networks
    app[_PROBLEMS_SAID] = set()
    if networks:
        app.middlewares.append(forwarded_client)
        log.info(
            "trusting %s from %s for client addresses",
            app[SETTINGS].proxy_header,
            ", ".join(str(n) for n in networks),
        )


@web.middleware
async def forwarded_client(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Hand the handler a request whose ``remote``, ``scheme`` and ``host`` are the client's,
    when the socket peer is a trusted proxy."""
    peer = request.remote or ""
    headers = {name: ", ".join(request.headers.getall(name, ())) for name in HEADER_NAMES}
    view = client_view(
        peer, headers, request.app[PROXY_NETWORKS], request.app[SETTINGS].proxy_header
    )
    if view.problem is not None:
        _say_once(request.app, f"ignored a header from proxy {peer}: {view.problem}")
    changes: dict[str, Any] = {}
    if view.address != peer:
        changes["remote"] = view.address
    if view.scheme is not None and view.scheme != request.scheme:
        changes["scheme"] = view.scheme
    if view.host is not None and view.host != request.host:
        changes["host"] = view.host
    return await handler(request.clone(**changes) if changes else request)


def _say_once(app: web.Application, message: str) -> None:
    said = app[_PROBLEMS_SAID]
    if message not in said and len(said) < _MAX_PROBLEMS_SAID:
        said.add(message)
        log.warning("%s", message)

"""The listening part every HTTP fake shares: an aiohttp app on an ephemeral port of 127.0.0.1."""

from __future__ import annotations

import ssl

from aiohttp import web


async def listen_locally(
    app: web.Application,
    *,
    ssl_context: ssl.SSLContext | None = None,
    shutdown_timeout: float = 60.0,
) -> tuple[web.AppRunner, int]:
    """Start ``app`` on 127.0.0.1 at a port the kernel picks; the runner (to clean up) and the
    port. ``shutdown_timeout``: how long cleanup waits for open keep-alive connections."""
    runner = web.AppRunner(app, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    server = site._server
    assert server is not None
    return runner, int(server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

"""``Type=notify`` for ``edge-server serve``.

``READY=1`` once the listening sockets are open (``web.run_app`` calls its ``print`` hook after
every site has started), then ``WATCHDOG=1`` from a task of the event loop, so a wedged loop
stops the pings and systemd restarts the process (``WatchdogSec=`` in the unit), and
``STOPPING=1`` at shutdown. Without ``NOTIFY_SOCKET`` every call is a no-op. The datagrams go
through systemd-python's ``sd_notify`` where it is installed (the contract's
:class:`~edge_server.contract.systemd_notify.Notifier` decides).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping

from aiohttp import web

from edge_server.contract.systemd_notify import Notifier


class SystemdNotify:
    """The server's side of ``Type=notify``: :meth:`ready` and :meth:`lifecycle`."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.notifier = Notifier(environ)

    def ready(self, *_printed: object, **_kwargs: object) -> None:
        """``print`` hook of ``web.run_app``: called once every site listens."""
        self.notifier.notify(ready=True, status="serving")

    async def lifecycle(self, _app: web.Application) -> AsyncIterator[None]:
        """``cleanup_ctx``: the watchdog task while the application runs, ``STOPPING=1`` after."""
        interval = self.notifier.watchdog_s
        task = asyncio.create_task(self._watchdog(interval)) if interval else None
        try:
            yield
        finally:
            self.notifier.notify(stopping=True, status="stopping")
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self.notifier.close()

    async def _watchdog(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.notifier.notify(watchdog=True)

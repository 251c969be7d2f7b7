"""Awaiting a future of the AWS C runtime without ever cancelling it.

``asyncio.wrap_future`` cancels the wrapped ``concurrent.futures.Future`` when the awaiting task
is cancelled (a timeout, or the event loop shutting down). The runtime completes its futures
later from its own thread, and completing a cancelled future raises there ("Exception ignored
in ... InvalidStateError"). :func:`runtime_result` waits on a separate asyncio future instead;
a result that arrives after nobody waits any more is handed to ``on_abandoned`` (to close a
connection nobody will use).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def runtime_result(
    future: concurrent.futures.Future[T], on_abandoned: Callable[[T], None] | None = None
) -> T:
    """The future's result; cancelling the caller leaves the runtime's future alone."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[T] = loop.create_future()

    def abandon(done: concurrent.futures.Future[T]) -> None:
        if on_abandoned is not None and not done.cancelled() and done.exception() is None:
            on_abandoned(done.result())

    def settle(done: concurrent.futures.Future[T]) -> None:
        if waiter.done():
            abandon(done)
        elif done.cancelled():
            waiter.cancel()
        elif (error := done.exception()) is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(done.result())

    def on_done(done: concurrent.futures.Future[T]) -> None:
        try:
            loop.call_soon_threadsafe(settle, done)
        except RuntimeError:  # the event loop is closed: nobody waits any more
            abandon(done)

    future.add_done_callback(on_done)
    return await waiter

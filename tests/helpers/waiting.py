"""Waiting for a condition with a time limit, instead of sleeping and hoping."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def wait_until(
    check: Callable[[], bool], timeout: float = 30.0, what: str = "condition", step: float = 0.05
) -> float:
    """Poll ``check`` until true; the seconds it took. Fails the test after ``timeout``."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(step)
    return time.monotonic() - start


async def wait_for_async(
    check: Callable[[], Awaitable[bool]],
    timeout: float = 30.0,
    what: str = "condition",
    step: float = 0.2,
) -> float:
    """Like :func:`wait_until` for an async check."""
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(step)
    return time.monotonic() - start

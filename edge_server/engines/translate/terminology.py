"""A room's Amazon Translate custom terminology, kept in step with its glossary, off the
caption path.

The terminology ``edge-<room>`` holds every term of the glossary mapped to itself in each of
the room's languages (see :mod:`edge_server.engines.aws.terminology_content`). In the
background: ``GetTerminology``; when its description already names the content's digest,
nothing is uploaded; otherwise ``ImportTerminology`` (CSV, ``MULTI``, ``MergeStrategy``
``OVERWRITE``). Once it is there every ``TranslateText`` names it (``TerminologyNames``). A
failure is logged and shown; translation goes on without it (or with the previous content),
and errors worth retrying are retried with backoff a few times.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from typing import Any

from edge_server.contract.backoff import BackoffPolicy
from edge_server.engines.aws.config import boto3_error
from edge_server.engines.aws.terminology_content import (
    TerminologyContent,
    terminology_content,
    terminology_name,
)

log = logging.getLogger(__name__)

SERVICE = "Amazon Translate"
ATTEMPTS = 5
"""Tries of an import that failed in a way worth retrying (throttled, unreachable)."""
RETRY = BackoffPolicy(first_s=2.0, factor=2.0, max_s=60.0, jitter=0.2)
RETRY_AFTER_S = 300.0
"""After those tries, the next translation at least this much later starts them again."""


class TerminologyKeeper:
    """The custom terminology of one room."""

    def __init__(self, room: str, client: Callable[[], Any], executor: Executor) -> None:
        """``client``: returns the translator's boto3 client (raises when it has none)."""
        self.room = room
        self.name = terminology_name(room)
        self._client = client
        self._executor = executor
        self._content: TerminologyContent | None = None
        self._given: tuple[tuple[str, ...], tuple[str, ...]] | None = None
        self._task: asyncio.Task[None] | None = None
        self.state = "none"
        """``none`` (no terms, or fewer than two languages), ``pending``, ``ready``, ``failed``."""
        self.reason: str | None = None
        self.available = False
        """The terminology exists in the service (READY to name in requests)."""
        self._retry_at: float | None = None

    def use(self, terms: Iterable[str], languages: Sequence[str]) -> None:
        """Import the terminology of ``terms`` for ``languages`` (Translate codes) unless the
        same content is already there or on its way."""
        given = (tuple(terms), tuple(languages))
        if given == self._given and self.state != "failed":
            return  # the same glossary (a schedule read again): nothing to rebuild
        self._given = given
        content = terminology_content(*given)
        if content == self._content and self.state != "failed":
            return
        self._content = content
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if not content.usable:
            self.state, self.reason = "none", None
            return
        self.state, self.reason, self._task = "pending", None, None
        self._start()

    def _start(self) -> None:
        """Start the import (from the event loop: else at the next :meth:`ready_name`); after
        a failure worth retrying, again once ``RETRY_AFTER_S`` passed."""
        if self._retry_at is not None and time.monotonic() >= self._retry_at:
            self._retry_at = None
            self.state, self._task = "pending", None
        if self.state != "pending" or self._task is not None or self._content is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._task = loop.create_task(self._sync(self._content), name=f"terminology-{self.name}")

    def ready_name(self) -> str | None:
        """The terminology to name in ``TranslateText``, or None."""
        self._start()
        return self.name if self.available else None

    def status(self) -> dict[str, Any]:
        """For ``/healthz`` and the status page."""
        content = self._content
        return {
            "state": self.state,
            "name": self.name if self.state != "none" else None,
            "terms": len(content.terms) if content else 0,
            "languages": list(content.languages) if content else [],
            "reason": self.reason,
            "dropped": [
                {"term": d.phrase, "reason": d.reason} for d in (content.dropped if content else ())
            ],
        }

    async def close(self) -> None:
        """Stop an import in progress."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, 2.0)

    async def _call(self, method: str, **arguments: Any) -> Any:
        loop = asyncio.get_running_loop()

        def run() -> Any:
            return getattr(self._client(), method)(**arguments)

        return await loop.run_in_executor(self._executor, run)

    async def _sync(self, content: TerminologyContent) -> None:
        attempt = 0
        while True:
            try:
                await self._import_unless_there(content)
            except Exception as exc:
                error = boto3_error(exc, SERVICE)
                if error.retryable and attempt + 1 < ATTEMPTS:
                    await asyncio.sleep(RETRY.delay(attempt))
                    attempt += 1
                    continue
                self.state, self.reason = "failed", str(error)
                if error.retryable:
                    self._retry_at = time.monotonic() + RETRY_AFTER_S
                log.error("room %s: custom terminology %s failed: %s; translations go on "
                          "without it", self.room, self.name, error)  # fmt: skip
                return
            self.state, self.reason, self.available = "ready", None, True
            return

    async def _import_unless_there(self, content: TerminologyContent) -> None:
        try:
            found = await self._call("get_terminology", Name=self.name, TerminologyDataFormat="CSV")
        except Exception as exc:
            if boto3_error(exc, SERVICE).code != "ResourceNotFoundException":
                raise
            found = {}
        properties = found.get("TerminologyProperties", {})
        if properties.get("Description") == content.description:
            log.info("room %s: custom terminology %s is up to date", self.room, self.name)
            return
        log.info("room %s: importing custom terminology %s (%d terms, %s)",
                 self.room, self.name, len(content.terms), ",".join(content.languages))  # fmt: skip
        await self._call(
            "import_terminology",
            Name=self.name,
            MergeStrategy="OVERWRITE",
            Description=content.description,
            TerminologyData={
                "File": content.csv_bytes,
                "Format": "CSV",
                "Directionality": "MULTI",
            },
        )

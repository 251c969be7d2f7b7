"""A room's Amazon Transcribe custom vocabularies, kept in step with its glossary, off the
caption path.

One vocabulary per language the room speaks, named ``edge-<room>-<language>-<digest>`` (see
:mod:`edge_server.engines.aws.vocabulary_content`). For each, in the background, through the
Transcribe API (boto3 ``transcribe`` client, on the keeper's own thread):

1. ``GetVocabulary``: already READY (an unchanged glossary) -> used, nothing uploaded;
2. not there -> ``CreateVocabulary``; there but FAILED -> ``UpdateVocabulary`` (once);
3. ``GetVocabulary`` again with backoff until READY, at most ``timeout_s``;
4. READY -> streams use it from their next start, and a running stream switches to it at its
   next pause (see :mod:`.rotation`); older ``edge-<room>-<language>-*`` vocabularies are
   deleted (best effort: the account holds at most 100);
5. FAILED -> logged with the service's ``FailureReason``; streams go on without it. A failure
   to reach the service (or a timeout) is tried again by itself after ``retry_s``, doubling up
   to 15 minutes, and at the next stream start once ``retry_s`` passed.

Captioning never waits for any of this: a stream opened meanwhile runs without a vocabulary.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from edge_server.contract.backoff import BackoffPolicy
from edge_server.engines.aws.config import boto3_client, boto3_error, new_session
from edge_server.engines.aws.errors import CloudEngineError, ServiceUnavailableError
from edge_server.engines.aws.vocabulary_content import (
    VocabularyContent,
    vocabulary_content,
    vocabulary_name,
    vocabulary_prefix,
)

log = logging.getLogger(__name__)

SERVICE = "Amazon Transcribe"
SERVICE_ID = "Transcribe"
"""The control plane's service id: its endpoint variable is ``AWS_ENDPOINT_URL_TRANSCRIBE``."""
_NOT_FOUND = ("NotFoundException",)
RETRY_MAX_S = 900.0
"""Longest wait between two tries of a build that could not reach the service."""


@dataclass(frozen=True)
class VocabularyOptions:
    """Where and how patiently the keeper works."""

    region: str | None = None
    endpoint_url: str | None = None
    ca_bundle: str | None = None
    timeout_s: float = 900.0
    """Longest wait for a vocabulary to become READY (the service takes minutes)."""
    poll: BackoffPolicy = field(
        default_factory=lambda: BackoffPolicy(first_s=2.0, factor=1.5, max_s=30.0, jitter=0.2)
    )
    """How often ``GetVocabulary`` asks while it is PENDING."""
    retry_s: float = 60.0
    """After a failure to reach the service: the first retry (doubling, at most 15 minutes);
    a stream start also tries again once this much passed."""
    call_timeout_s: float = 10.0
    """Connect and read timeout of one API call."""


@dataclass
class LanguageVocabulary:
    """One language's vocabulary: what it holds and where it stands."""

    content: VocabularyContent
    name: str
    state: str = "pending"
    """``pending``, ``ready``, ``failed`` or ``empty`` (no usable phrase: nothing uploaded)."""
    reason: str | None = None
    retryable: bool = False
    failed_at: float = 0.0
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def report(self) -> dict[str, Any]:
        """Its part of ``/healthz``."""
        return {
            "state": self.state,
            "name": self.name if self.state != "empty" else None,
            "phrases": len(self.content.phrases),
            "reason": self.reason,
            "dropped": [{"phrase": d.phrase, "reason": d.reason} for d in self.content.dropped],
        }


class VocabularyKeeper:
    """The custom vocabularies of one room."""

    def __init__(
        self,
        room: str,
        options: VocabularyOptions,
        *,
        session: Any = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.room = room
        self.options = options
        self._session = session
        self._environ = environ
        self._entries: tuple[str, ...] = ()
        self._languages: dict[str, LanguageVocabulary] = {}
        self._ready: dict[str, str] = {}
        self._client: Any = None
        self._executor = ThreadPoolExecutor(1, f"vocabulary-{room}")
        self._closed = False
        self._retries: dict[str, int] = {}
        """Failed builds in a row per language (the retry's backoff)."""
        self.on_ready: Callable[[str, str], None] | None = None
        """Called with (language, name) when a vocabulary becomes READY."""

    # --- what the recognizer asks ----------------------------------------------------------

    def use(self, entries: Iterable[str], languages: Iterable[str]) -> None:
        """Build from ``entries`` (glossary phrases) for ``languages`` and every language a
        stream was opened in; unchanged content is left as it is."""
        given = tuple(entries)
        changed = given != self._entries
        self._entries = given
        for language in dict.fromkeys([*languages, *self._languages]):
            if changed or language not in self._languages:  # the same entries: nothing to redo
                self._plan(language, retry=False)

    def want(self, language: str) -> None:
        """A stream opens in ``language``: build its vocabulary if there is none yet, or try a
        failed build again if the service could not be reached."""
        if self._entries:
            self._plan(language, retry=True)

    def ready_name(self, language: str) -> str | None:
        """The READY vocabulary of ``language`` (the latest), or None."""
        return self._ready.get(language)

    def status(self) -> dict[str, Any]:
        """Every language's vocabulary for ``/healthz`` and the status page."""
        return {lang: v.report() for lang, v in sorted(self._languages.items())}

    async def close(self) -> None:
        """Stop the builds in progress (a vocabulary being created goes on in the service)."""
        self._closed = True
        tasks = [v.task for v in self._languages.values() if v.task and not v.task.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 2.0)
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()  # its kept-alive connections

    # --- the builds ---------------------------------------------------------------------------

    def _plan(self, language: str, *, retry: bool) -> None:
        if self._closed:
            return
        content = vocabulary_content(self._entries, language)
        name = vocabulary_name(self.room, content)
        current = self._languages.get(language)
        if current is not None and current.name == name:
            stale = current.state == "failed" and current.retryable and retry
            waiting = current.state == "pending" and current.task is None
            if not (
                waiting or (stale and time.monotonic() - current.failed_at >= self.options.retry_s)
            ):
                return
        elif current is not None and current.task is not None:
            current.task.cancel()
        entry = LanguageVocabulary(content, name)
        self._languages[language] = entry
        if not content.phrases:
            self._ready.pop(language, None)  # a glossary emptied since: no vocabulary now
            entry.state = "empty"
            entry.reason = "no usable phrase in the glossary" if self._entries else None
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # started by the next call made from the event loop
        entry.task = loop.create_task(self._build(language, entry), name=f"vocabulary-{name}")

    async def _call(self, method: str, **arguments: Any) -> Any:
        loop = asyncio.get_running_loop()
        if self._client is None:
            self._client = await loop.run_in_executor(self._executor, self._make_client)
        call = functools.partial(getattr(self._client, method), **arguments)
        return await loop.run_in_executor(self._executor, call)

    def _make_client(self) -> Any:
        session = self._session if self._session is not None else new_session()
        client, _ = boto3_client(
            SERVICE,
            SERVICE_ID,
            "transcribe",
            session=session,
            region=self.options.region,
            endpoint_url=self.options.endpoint_url,
            ca_bundle=self.options.ca_bundle,
            environ=os.environ if self._environ is None else self._environ,
            timeout_s=self.options.call_timeout_s,
            attempts=3,
            pool=1,
        )
        return client

    async def _get(self, name: str) -> Mapping[str, Any] | None:
        try:
            answer: Mapping[str, Any] = await self._call("get_vocabulary", VocabularyName=name)
        except Exception as exc:
            error = boto3_error(exc, SERVICE)
            older = error.code == "BadRequestException" and "be found" in str(error)
            if error.code in _NOT_FOUND or older:  # the service once answered BadRequest
                return None
            raise error from None
        return answer

    async def _build(self, language: str, entry: LanguageVocabulary) -> None:
        name, phrases = entry.name, list(entry.content.phrases)
        arguments = {"VocabularyName": name, "LanguageCode": language, "Phrases": phrases}
        try:
            found = await self._get(name)
            if found is None:
                log.info("room %s: creating Transcribe vocabulary %s (%d phrases)",
                         self.room, name, len(phrases))  # fmt: skip
                await self._call("create_vocabulary", **arguments)
            elif found.get("VocabularyState") == "FAILED":
                log.info("room %s: Transcribe vocabulary %s had failed (%s); updating it",
                         self.room, name, found.get("FailureReason"))  # fmt: skip
                await self._call("update_vocabulary", **arguments)
            answer = found if found and found.get("VocabularyState") == "READY" else None
            if answer is None:
                answer = await self._wait_ready(name)
        except CloudEngineError as exc:
            self._failed(language, entry, str(exc), retryable=exc.retryable)
            return
        except Exception as exc:
            error = boto3_error(exc, SERVICE)
            self._failed(language, entry, str(error), retryable=error.retryable)
            return
        if answer.get("VocabularyState") != "READY":
            reason = str(answer.get("FailureReason") or "the service gave no reason")
            reason = f"Transcribe could not build {name}: {reason}"
            self._failed(language, entry, reason, retryable=False)
            return
        entry.state, entry.reason = "ready", None
        self._retries.pop(language, None)
        self._ready[language] = name
        log.info("room %s: Transcribe vocabulary %s is READY", self.room, name)
        if self.on_ready is not None:
            self.on_ready(language, name)
        await self._delete_older(language, name)

    async def _wait_ready(self, name: str) -> Mapping[str, Any]:
        deadline = time.monotonic() + self.options.timeout_s
        attempt = 0
        while True:
            answer = await self._get(name)
            if answer is None:
                raise ServiceUnavailableError(f"{SERVICE}: vocabulary {name} vanished while "
                                              "building", service=SERVICE)  # fmt: skip
            if answer.get("VocabularyState") != "PENDING":
                return answer
            delay = self.options.poll.delay(attempt)
            attempt += 1
            if time.monotonic() + delay > deadline:
                raise ServiceUnavailableError(
                    f"{SERVICE}: vocabulary {name} not READY within "
                    f"{self.options.timeout_s:g} s; the next stream start asks again",
                    service=SERVICE,
                    code="Timeout",
                )
            await asyncio.sleep(delay)

    def _failed(
        self, language: str, entry: LanguageVocabulary, reason: str, *, retryable: bool
    ) -> None:
        entry.state, entry.reason, entry.retryable = "failed", reason, retryable
        entry.failed_at = time.monotonic()
        log.error("room %s: custom vocabulary %s failed: %s; streams run without it",
                  self.room, entry.name, reason)  # fmt: skip
        if retryable and not self._closed:
            attempt = self._retries.get(language, 0)
            self._retries[language] = attempt + 1
            delay = min(self.options.retry_s * 2**attempt, RETRY_MAX_S)
            asyncio.get_running_loop().call_later(delay, self._retry, language, entry)

    def _retry(self, language: str, entry: LanguageVocabulary) -> None:
        if self._languages.get(language) is entry and entry.state == "failed":
            entry.failed_at = -self.options.retry_s  # due now
            self._plan(language, retry=True)

    async def _delete_older(self, language: str, keep: str) -> None:
        """Delete this room's other vocabularies of ``language`` (best effort)."""
        prefix = vocabulary_prefix(self.room, language)
        try:
            listed = await self._call("list_vocabularies", NameContains=prefix, MaxResults=100)
            for item in listed.get("Vocabularies", []):
                old = str(item.get("VocabularyName", ""))
                ours = re.fullmatch(re.escape(prefix) + "[0-9a-f]{12}", old) is not None
                if ours and old != keep and item.get("VocabularyState") != "PENDING":
                    await self._call("delete_vocabulary", VocabularyName=old)
                    log.info("room %s: deleted the older Transcribe vocabulary %s", self.room, old)
        except Exception as exc:
            log.warning("room %s: could not delete older vocabularies %s*: %s",
                        self.room, prefix, boto3_error(exc, SERVICE))  # fmt: skip

"""Amazon Transcribe streaming as a room's recognizer.

:class:`TranscribeRecognizer` implements the :class:`~edge_server.core.engine_api.Recognizer`
protocol on the real ``amazon-transcribe`` client (see :mod:`.client` for how it is
wired and :mod:`.body` for the busy-loop fix). A :class:`TranscribeStream` never
retries a failure by itself: it raises a :class:`CloudEngineError` whose ``retryable`` tells the
room what to do. The one thing it does on its own is rotation: before the service's 4-hour
limit it ends the current service stream at a pause and opens the next one, buffering the
audio that arrives meanwhile, so no caption text is lost or doubled and times stay continuous.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from edge_server.core.engine_api import HEALTHY, RecognizerHealth
from edge_server.core.glossary import Glossary
from edge_server.engines.aws.config import new_session, resolve_target
from edge_server.engines.aws.errors import timeout_error
from edge_server.engines.aws.vocabulary_content import glossary_phrases
from edge_server.engines.transcribe.body import WaitingBody
from edge_server.engines.transcribe.client import (
    ENDPOINT_PREFIX,
    SERVICE,
    SERVICE_ID,
    BotocoreCredentials,
    TranscribeClient,
    classify,
)
from edge_server.engines.transcribe.leg import BYTES_PER_SECOND, Leg
from edge_server.engines.transcribe.options import (
    StreamPlan,
    TranscribeOptions,
    plan_languages,
    plan_stream,
    request_arguments,
    supported_languages,
)
from edge_server.engines.transcribe.results import ResultConverter
from edge_server.engines.transcribe.stream import TranscribeStream
from edge_server.engines.transcribe.vocabulary import VocabularyKeeper

log = logging.getLogger(__name__)

CLOSE_GRACE_S = 3.0
"""How long :meth:`TranscribeRecognizer.close` waits for streams and connects to wind down."""


def _discard_late_start(task: asyncio.Future[Any]) -> None:
    """A stream start that finished after it was given up: end its stream, or drop its error."""
    if task.cancelled() or task.exception() is not None:
        return
    log.info("a Transcribe stream opened after its timeout; ending it")


class TranscribeRecognizer:
    """Amazon Transcribe streaming for one room (one stream at a time)."""

    name = "transcribe"

    def __init__(
        self,
        options: TranscribeOptions,
        *,
        label: str = "",
        session: Any = None,
        environ: Mapping[str, str] | None = None,
        vocabularies: VocabularyKeeper | None = None,
    ) -> None:
        """``session``: a botocore session (default: a new one over the standard config);
        ``environ``: the environment to read AWS_* variables from (default: os.environ);
        ``vocabularies``: builds the custom vocabularies from the room's glossary (used when
        no ``vocabulary_names`` are configured and ``glossary_vocabulary`` is on)."""
        self.options = options
        use_keeper = options.glossary_vocabulary and not options.vocabulary_names
        self.vocabularies = vocabularies if use_keeper else None
        self._label = label
        self._session = session
        self._environ = environ
        self._client: TranscribeClient | None = None
        self._streams: weakref.WeakSet[TranscribeStream] = weakref.WeakSet()
        self._starts: set[asyncio.Future[Any]] = set()
        self.streams_opened = 0
        """Service streams opened so far (first streams and rotations)."""
        self.audio_bytes = 0
        """Audio accepted by this recognizer's streams (Transcribe bills per second)."""

    @property
    def audio_seconds(self) -> float:
        """Seconds of audio streamed to Transcribe so far (for the cost meter)."""
        return self.audio_bytes / BYTES_PER_SECOND

    def supported_languages(self) -> frozenset[str] | None:
        """The configured languages plus ``auto``, or None when any code is accepted."""
        return supported_languages(self.options)

    async def open_stream(self, language: str) -> TranscribeStream:
        """Start a stream; ``auto`` (or several configured languages) identifies the language.

        Raises UnsupportedLanguage, or a CloudEngineError (see ``retryable``).
        """
        plan = plan_stream(self.options, language)
        if self.vocabularies is not None:
            for spoken in plan_languages(plan):
                self.vocabularies.want(spoken)
        stream = TranscribeStream(self, plan)
        await stream.start()
        self._streams.add(stream)
        return stream

    def use_glossary(self, glossary: Glossary, languages: Sequence[str]) -> None:
        """Build (in the background) a custom vocabulary per spoken language from
        ``glossary``; streams use it once READY (see :mod:`.vocabulary`)."""
        if self.vocabularies is not None:
            spoken = self.options.languages or tuple(languages[:1])
            self.vocabularies.use(glossary_phrases(glossary), spoken)

    def glossary_status(self) -> dict[str, Any] | None:
        """The custom vocabularies: configured by name, or built from the glossary per
        language (state ``pending``, ``ready``, ``failed`` with the reason, or ``empty``)."""
        if self.options.vocabulary_names:
            return {"vocabulary": "configured", "names": list(self.options.vocabulary_names)}
        if self.vocabularies is None:
            return None
        return {"vocabulary": "glossary", "languages": self.vocabularies.status()}

    def vocabulary_names(self, plan: StreamPlan) -> tuple[str, ...]:
        """The custom vocabularies a stream of ``plan`` uses if opened now."""
        if self.vocabularies is None:
            return self.options.vocabulary_names
        names = (self.vocabularies.ready_name(spoken) for spoken in plan_languages(plan))
        return tuple(name for name in names if name)

    def _build_client(self) -> TranscribeClient:
        options = self.options
        session = self._session if self._session is not None else new_session()
        target = resolve_target(
            SERVICE,
            SERVICE_ID,
            ENDPOINT_PREFIX,
            session=session,
            region=options.region,
            endpoint_url=options.endpoint_url,
            ca_bundle=options.ca_bundle,
            environ=self._environ,
        )
        return TranscribeClient(
            target,
            BotocoreCredentials(session),
            body_wait_s=options.body_wait_s,
            connect_timeout_s=options.connect_timeout_s,
        )

    async def _ensure_client(self) -> TranscribeClient:
        if self._client is None:
            try:
                self._client = await asyncio.to_thread(self._build_client)
            except Exception as exc:
                raise classify(exc) from None
        return self._client

    def _drop_connection(self) -> None:
        if self._client is not None:
            self._client.close()

    async def open_leg(self, plan: StreamPlan, offset_s: float) -> Leg:
        """Open one service stream whose times start at ``offset_s``."""
        client = await self._ensure_client()
        body = WaitingBody(self.options.body_wait_s, runtime_fd=client.runtime_fd)
        timeout = self.options.open_timeout_s
        vocabularies = self.vocabulary_names(plan)
        arguments = request_arguments(self.options, plan, vocabularies)
        # The start runs as its own task and is shielded: cancelling it would cancel futures
        # the C runtime completes later (it then raises in its own thread). A start abandoned
        # after a timeout is left to finish and its stream is ended.
        start = asyncio.ensure_future(client.start(body, arguments))
        self._starts.add(start)
        start.add_done_callback(self._starts.discard)
        try:
            sdk_stream = await asyncio.wait_for(asyncio.shield(start), timeout)
        except (TimeoutError, asyncio.CancelledError) as exc:
            start.add_done_callback(_discard_late_start)
            body.close()
            client.close()
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise timeout_error(SERVICE, "a new stream", timeout, client.endpoint) from None
        except Exception as exc:
            body.close()
            error = classify(exc, client.endpoint)
            if error.code is None or error.retryable:
                client.close()
            log.warning("%s", error)
            raise error from None
        self.streams_opened += 1
        log.info(
            "%sTranscribe stream %d opened at %s (%s, vocabulary %s)",
            f"{self._label}: " if self._label else "",
            self.streams_opened,
            client.endpoint,
            plan.language or "identify " + ",".join(plan.language_options),
            ",".join(vocabularies) or "none",
        )
        leg = Leg(
            sdk_stream,
            body,
            ResultConverter(offset_s, plan.fallback_language),
            endpoint=client.endpoint,
            stall_timeout_s=self.options.stall_timeout_s,
            drop_connection=self._drop_connection,
        )
        leg.vocabulary_names = vocabularies
        return leg

    def health(self) -> RecognizerHealth:
        """Nothing to report: failures reach the room as stream errors."""
        return HEALTHY

    async def close(self) -> None:
        """End its streams and close the connection; a later stream opens a new one."""
        streams = list(self._streams)
        for stream in streams:
            stream.close()
        if self._client is not None:
            self._client.close()
            self._client = None
        for stream in streams:
            await stream.wait_closed(CLOSE_GRACE_S)
        for start in list(self._starts):  # given up after a timeout, still connecting
            start.cancel()  # safe: the connect is awaited through crt_bridge
        if self.vocabularies is not None:
            await self.vocabularies.close()


__all__ = ["BYTES_PER_SECOND", "TranscribeRecognizer", "TranscribeStream"]

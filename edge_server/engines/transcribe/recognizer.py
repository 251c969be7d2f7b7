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
from collections.abc import Mapping
from typing import Any

from edge_server.core.engine_api import HEALTHY, RecognizerHealth
from edge_server.engines.aws.config import new_session, resolve_target
from edge_server.engines.aws.errors import timeout_error
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
    plan_stream,
    request_arguments,
    supported_languages,
)
from edge_server.engines.transcribe.results import ResultConverter
from edge_server.engines.transcribe.stream import TranscribeStream

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
    ) -> None:
        """``session``: a botocore session (default: a new one over the standard config);
        ``environ``: the environment to read AWS_* variables from (default: os.environ)."""
        self.options = options
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
        stream = TranscribeStream(self, plan)
        await stream.start()
        self._streams.add(stream)
        return stream

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
        # The start runs as its own task and is shielded: cancelling it would cancel futures
        # the C runtime completes later (it then raises in its own thread). A start abandoned
        # after a timeout is left to finish and its stream is ended.
        start = asyncio.ensure_future(client.start(body, request_arguments(self.options, plan)))
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
            "%sTranscribe stream %d opened at %s (%s)",
            f"{self._label}: " if self._label else "",
            self.streams_opened,
            client.endpoint,
            plan.language or "identify " + ",".join(plan.language_options),
        )
        return Leg(
            sdk_stream,
            body,
            ResultConverter(offset_s, plan.fallback_language),
            endpoint=client.endpoint,
            stall_timeout_s=self.options.stall_timeout_s,
            drop_connection=self._drop_connection,
        )

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


__all__ = ["BYTES_PER_SECOND", "TranscribeRecognizer", "TranscribeStream"]

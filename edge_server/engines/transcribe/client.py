"""The ``amazon-transcribe`` client, wired for a room: endpoint, CA, credentials, no busy loop.

The SDK offers a static endpoint resolver and a credential resolver, but no way to choose the
CA, the connect timeout, the C runtime's event-loop thread, or the request body. Those are set
by subclassing its client and session manager (no installed file is edited):

- the session manager gets a TLS context trusting ``ca_bundle`` (AWS_CA_BUNDLE), socket options
  with the connect timeout and TCP keep-alive, and a bootstrap with its own one-thread event
  loop, so this recognizer's body waits never delay another room's connection; its connect is
  awaited through :mod:`.crt_bridge`, so a timeout never cancels a runtime future;
- the serializer gives each request a :class:`WaitingBody` (the busy-loop fix);
- credentials come from botocore's default chain, cached and refreshed off the event loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
import time
from typing import Any
from urllib.parse import ParseResult, urlparse

import botocore.exceptions  # type: ignore[import-untyped]
from amazon_transcribe.auth import CredentialResolver, Credentials
from amazon_transcribe.client import TranscribeStreamingClient
from amazon_transcribe.endpoints import StaticEndpointResolver
from amazon_transcribe.exceptions import (
    CredentialsException,
    HTTPException,
    ServiceException,
    UnknownServiceException,
)
from amazon_transcribe.httpsession import AwsCrtHttpResponse, AwsCrtHttpSessionManager
from amazon_transcribe.model import StartStreamTranscriptionEventStream
from amazon_transcribe.request import Request
from amazon_transcribe.serialize import TranscribeStreamingSerializer
from awscrt import http as crt_http  # type: ignore[import-untyped]
from awscrt import io as crt_io
from awscrt.exceptions import AwsCrtError  # type: ignore[import-untyped]

from edge_server.engines.aws.errors import (
    CloudEngineError,
    CredentialsError,
    EndpointError,
    missing_credentials,
    service_error,
    transport_error,
)
from edge_server.engines.aws.target import AwsTarget
from edge_server.engines.transcribe.body import WaitingBody
from edge_server.engines.transcribe.crt_bridge import runtime_result

SERVICE = "Amazon Transcribe"
SERVICE_ID = "Transcribe Streaming"
"""The service id: its endpoint variable is ``AWS_ENDPOINT_URL_TRANSCRIBE_STREAMING``."""
ENDPOINT_PREFIX = "transcribestreaming"
CREDENTIALS_REFRESH_S = 60.0

_LOOP_GROUP_LOCK = threading.Lock()
_NEXT_BODY: contextvars.ContextVar[WaitingBody | None] = contextvars.ContextVar(
    "transcribe_next_body", default=None
)


def default_endpoint(region: str) -> str:
    """The regional endpoint (what the SDK's own resolver builds)."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://{ENDPOINT_PREFIX}.{region}.{suffix}"


class _Serializer(TranscribeStreamingSerializer):
    """Gives each stream request a :class:`WaitingBody` instead of the busy one."""

    def __init__(self, wait_s: float, runtime_fd: int | None) -> None:
        super().__init__()
        self._wait_s = wait_s
        self._runtime_fd = runtime_fd

    def serialize_start_stream_transcription_request(
        self, endpoint: str, request_shape: Any
    ) -> Request:
        request = super().serialize_start_stream_transcription_request(endpoint, request_shape)
        request.body = _NEXT_BODY.get() or WaitingBody(self._wait_s, self._runtime_fd)
        return request


class _SessionManager(AwsCrtHttpSessionManager):
    """The SDK's HTTP/2 session manager with our TLS context, socket options and bootstrap."""

    def __init__(self, bootstrap: Any, tls_ctx: Any, socket_options: Any) -> None:
        super().__init__(bootstrap)  # type: ignore[no-untyped-call]
        for attribute in ("_tls_ctx", "_socket_options", "_connections", "_client_bootstrap"):
            if not hasattr(self, attribute):
                raise RuntimeError(f"amazon-transcribe changed: no session manager {attribute}")
        self._tls_ctx = tls_ctx
        self._socket_options = socket_options

    async def _create_connection(self, parsed_url: ParseResult) -> Any:
        """The SDK's connect (TLS with ALPN h2, HTTP/2 required), awaited without handing a
        timeout's cancellation to the runtime (see :mod:`.crt_bridge`)."""
        tls = None
        port = parsed_url.port or (80 if parsed_url.scheme == "http" else 443)
        if parsed_url.scheme != "http":
            tls = self._tls_ctx.new_connection_options()
            tls.set_server_name(parsed_url.hostname)
            tls.set_alpn_list(["h2"])
        future = crt_http.HttpClientConnection.new(
            bootstrap=self._client_bootstrap,
            host_name=parsed_url.hostname,
            port=port,
            socket_options=self._socket_options,
            tls_connection_options=tls,
        )
        connection = await runtime_result(future, on_abandoned=lambda c: c.close())
        if not connection.is_open():
            raise HTTPException(f"Couldn't open a connection to {parsed_url.hostname}")
        if connection.version is not crt_http.HttpVersion.Http2:
            connection.close()
            raise HTTPException(f"HTTP/2 could not be negotiated: {connection.version}")
        return connection

    async def make_request(
        self, url: str, method: str = "GET", headers: Any = None, body: Any = None
    ) -> AwsCrtHttpResponse:
        response = await super().make_request(url, method=method, headers=headers, body=body)
        if isinstance(body, WaitingBody):
            body.response = response
        return response

    def close(self) -> None:
        """Close every cached connection."""
        connections: dict[Any, Any] = self._connections
        for connection in list(connections.values()):
            connection.close()
        connections.clear()


class BotocoreCredentials(CredentialResolver):
    """Credentials from botocore's default chain, resolved off the loop, cached a minute.

    botocore refreshes temporary credentials well before they expire, so a minute of caching
    never hands out expired ones; the SDK asks for credentials once per audio event.
    """

    def __init__(self, session: Any, service: str = SERVICE) -> None:
        self._session = session
        self._service = service
        self._cached: Credentials | None = None
        self._at = 0.0

    async def get_credentials(self) -> Credentials | None:
        """The current credentials; raises CredentialsError when there are none."""
        now = time.monotonic()
        if self._cached is None or now - self._at > CREDENTIALS_REFRESH_S:
            self._cached = await asyncio.to_thread(self._load)
            self._at = now
        return self._cached

    def _load(self) -> Credentials:
        try:
            found = self._session.get_credentials()
            frozen = found.get_frozen_credentials() if found is not None else None
        except botocore.exceptions.BotoCoreError as exc:
            raise CredentialsError(
                f"{self._service}: could not load AWS credentials: {exc}", service=self._service
            ) from None
        if frozen is None or not frozen.access_key or not frozen.secret_key:
            raise missing_credentials(self._service)
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)


def _eventpoll_fds() -> set[int]:
    found: set[int] = set()
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return found
    for name in names:
        try:
            if os.readlink(f"/proc/self/fd/{name}") == "anon_inode:[eventpoll]":
                found.add(int(name))
        except (OSError, ValueError):
            continue
    return found


def new_event_loop_group() -> tuple[Any, int | None]:
    """A one-thread runtime event loop and its epoll descriptor (None if not identifiable).

    The descriptor is the one that appeared while the loop was created; if another thread
    created one at the same moment it is ambiguous, and bodies fall back to timed waits.
    """
    with _LOOP_GROUP_LOCK:
        before = _eventpoll_fds()
        loop_group = crt_io.EventLoopGroup(1)
        new = _eventpoll_fds() - before
    return loop_group, (new.pop() if len(new) == 1 else None)


def _crt_resources(
    ca_bundle: str | None, connect_timeout_s: float
) -> tuple[Any, Any, Any, Any, int | None]:
    loop_group, runtime_fd = new_event_loop_group()
    bootstrap = crt_io.ClientBootstrap(loop_group, crt_io.DefaultHostResolver(loop_group))
    tls_options = crt_io.TlsContextOptions()
    if ca_bundle:
        try:
            tls_options.override_default_trust_store_from_path(None, ca_bundle)
        except (OSError, AwsCrtError) as exc:
            raise EndpointError(
                f"{SERVICE}: cannot use the CA bundle {ca_bundle}: {exc}", service=SERVICE
            ) from None
    socket_options = crt_io.SocketOptions()
    socket_options.connect_timeout_ms = int(connect_timeout_s * 1000)
    socket_options.keep_alive = True
    socket_options.keep_alive_interval_secs = 10
    socket_options.keep_alive_timeout_secs = 5
    socket_options.keep_alive_max_probes = 3
    return loop_group, bootstrap, crt_io.ClientTlsContext(tls_options), socket_options, runtime_fd


class TranscribeClient(TranscribeStreamingClient):
    """One recognizer's client: its own connection, event-loop thread and TLS trust."""

    def __init__(
        self,
        target: AwsTarget,
        credentials: CredentialResolver,
        *,
        body_wait_s: float,
        connect_timeout_s: float,
    ) -> None:
        self.endpoint = target.endpoint_url or default_endpoint(target.region)
        parsed = urlparse(self.endpoint)
        if parsed.scheme != "https" or not parsed.hostname:
            raise EndpointError(
                f"{SERVICE}: the endpoint must be an https:// URL (HTTP/2 over TLS), "
                f"not {self.endpoint!r}",
                service=SERVICE,
                code="InvalidEndpoint",
            )
        super().__init__(
            region=target.region,
            endpoint_resolver=StaticEndpointResolver(self.endpoint),  # type: ignore[no-untyped-call]
            credential_resolver=credentials,
        )
        loop_group, bootstrap, tls_ctx, socket_options, runtime_fd = _crt_resources(
            target.ca_bundle, connect_timeout_s
        )
        self._loop_group = loop_group
        self.runtime_fd = runtime_fd
        """The epoll descriptor of this client's runtime thread (see :class:`WaitingBody`)."""
        self._session_manager: _SessionManager = _SessionManager(bootstrap, tls_ctx, socket_options)
        self._serializer = _Serializer(body_wait_s, runtime_fd)

    async def start(
        self, body: WaitingBody, arguments: dict[str, Any]
    ) -> StartStreamTranscriptionEventStream:
        """Start a stream whose audio goes through ``body``."""
        token = _NEXT_BODY.set(body)
        try:
            return await self.start_stream_transcription(**arguments)
        finally:
            _NEXT_BODY.reset(token)

    def close(self) -> None:
        """Close the HTTP/2 connection."""
        self._session_manager.close()


def classify(exc: BaseException, endpoint: str = "") -> CloudEngineError:
    """The :class:`CloudEngineError` for anything the SDK or the runtime raised."""
    if isinstance(exc, CloudEngineError):
        return exc
    if isinstance(exc, UnknownServiceException):
        return service_error(SERVICE, str(exc.error_code), exc.status_code, exc.message)
    if isinstance(exc, ServiceException):
        detail = str(getattr(exc, "message", "") or exc)
        status = getattr(exc, "status_code", None)
        return service_error(SERVICE, type(exc).__name__, status, detail)
    if isinstance(exc, CredentialsException):
        return CredentialsError(f"{SERVICE}: {exc}", service=SERVICE, code="CredentialsException")
    if isinstance(exc, AwsCrtError):
        return transport_error(SERVICE, str(exc.name), str(exc.message), endpoint)
    if isinstance(exc, HTTPException):
        return transport_error(SERVICE, "HTTPException", str(exc), endpoint)
    return transport_error(SERVICE, type(exc).__name__, str(exc), endpoint)

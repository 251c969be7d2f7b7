"""The audio uplink client: a thin ``websockets`` adapter over ``edge_server.contract.uplink``.

One :class:`AudioUplink` is one connection: ``connect()`` (hello -> ready), ``send_frames()``
or ``send()``, ``end()`` (-> ended), ``close()``. It does not reconnect; the live node's reconnect
loop (:mod:`edge_audio.link.reconnect`) creates a new :class:`AudioUplink` per attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import ssl
import time
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, NoReturn, Self

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from edge_audio import __version__
from edge_audio.pcm.pacing import Pacer
from edge_server.contract.audio_format import BYTES_PER_SECOND, DEFAULT_MAX_FRAME_BYTES
from edge_server.contract.server_replies import (
    ServerMessageError,
    is_warning,
    parse_server_message,
    refusal_from_close,
    refusal_from_http,
)
from edge_server.contract.uplink import build_end, build_hello

log = logging.getLogger(__name__)

MAX_SERVER_MESSAGE_BYTES = 256 * 1024
"""Largest message accepted from the server (a ``final`` with many translations is a few KiB)."""

FinalHandler = Callable[[dict[str, Any]], None]
"""Called with each ``final`` message the server sends on this connection."""


class UplinkError(Exception):
    """The uplink could not do its job; the message is fit to show a user."""


class ServerRefused(UplinkError):
    """The server answered with an ``error`` (or an HTTP refusal) and ends the stream."""

    def __init__(self, code: str, message: str, close_code: int | None) -> None:
        """``close_code`` is the WebSocket close code, None for an HTTP refusal or no close."""
        self.code = code
        self.message = message
        self.close_code = close_code
        suffix = f" (close code {close_code})" if close_code is not None else ""
        super().__init__(f"{code}: {message}{suffix}")


class UplinkLost(UplinkError):
    """The connection could not be made, or broke without an ``error`` from the server."""

    def __init__(self, url: str, reason: str, dead_for: float = 0.0) -> None:
        """``reason`` says what happened, e.g. ``"cannot connect: connection refused"``;
        ``dead_for``: how long the link was already silent when this was noticed (a ping
        timeout notices a dead link only after the timeout)."""
        self.url = url
        self.reason = reason
        self.dead_for = dead_for
        super().__init__(f"{url}: {reason}")


@dataclass(frozen=True)
class UplinkSettings:
    """How to reach the server and what to say in ``hello``."""

    url: str
    """``ws://`` or ``wss://`` URL of ``/ws/audio/{room}`` (see
    :func:`edge_server.contract.urls.audio_url`)."""
    language: str | None
    """Spoken language for ``hello``; None leaves it to the room's configuration."""
    client_name: str = "edge-audio"
    """``hello.client.name``, shown in the server's ``/healthz``."""
    client_version: str = __version__
    """``hello.client.version``."""
    open_timeout: float = 10.0
    """Seconds allowed for TCP connect, TLS and the WebSocket handshake."""
    ready_timeout: float = 10.0
    """Seconds to wait for ``ready`` after ``hello``."""
    end_timeout: float = 30.0
    """Seconds to wait for ``ended`` after ``end`` (the recognizer finishes its utterance)."""
    close_grace: float = 2.0
    """Seconds to wait for the close that follows a fatal ``error``."""
    device: str | None = None
    """``hello.device``: the capture device, shown by the server (None: not said)."""
    stream: str | None = None
    """``hello.stream``: the node's stream id, for ``position`` messages (None: unpositioned)."""
    token: str | None = field(default=None, repr=False)
    """The server's audio token, sent as ``Authorization: Bearer`` (None: no token)."""
    ping_interval: float | None = 20.0
    """Seconds between WebSocket pings (None: no pings)."""
    ping_timeout: float | None = 20.0
    """A ping unanswered for this long closes the connection as lost."""
    write_limit: int = 32 * 1024
    """Bytes queued in the WebSocket's write buffer before :meth:`AudioUplink.send` waits."""
    send_buffer_bytes: int | None = None
    """The socket's kernel send buffer (``SO_SNDBUF``); None keeps the system's. A small one
    keeps unsent audio in the caller's buffer rather than in a connection that may be dead."""
    ca_file: str | None = None
    """For ``wss://``: a PEM file of the CA that signed the server's certificate (a venue's
    local CA); None trusts the system's store."""


@dataclass(frozen=True)
class Ready:
    """The server's ``ready`` message."""

    room: str
    session: str
    engine: str
    language: str
    max_frame_bytes: int
    timeline_start: float
    stream: str | None = None
    """The stream id the server repeated (None: it takes no positions)."""
    received: int | None = None
    """Where the server's audio of that stream ends, in samples (None: it has none)."""

    @classmethod
    def from_message(cls, msg: dict[str, Any]) -> Ready:
        """Read the fields of a parsed ``ready``, with defaults for missing or odd values."""
        max_frame = msg.get("max_frame_bytes")
        if not isinstance(max_frame, int) or isinstance(max_frame, bool) or max_frame < 2:
            max_frame = DEFAULT_MAX_FRAME_BYTES
        start = msg.get("timeline_start")
        stream = msg.get("stream")
        stream_id, received = None, None
        if isinstance(stream, dict) and isinstance(stream.get("id"), str):
            stream_id = stream["id"]
            got = stream.get("received")
            if isinstance(got, int) and not isinstance(got, bool) and got >= 0:
                received = got
        return cls(
            room=str(msg.get("room", "")),
            session=str(msg.get("session", "")),
            engine=str(msg.get("engine", "")),
            language=str(msg.get("language", "")),
            max_frame_bytes=max_frame,
            timeline_start=float(start) if isinstance(start, int | float) else 0.0,
            stream=stream_id,
            received=received,
        )


@dataclass(frozen=True)
class Ended:
    """The server's ``ended`` message: what it received and finalized for this stream."""

    finals: int | None
    audio_seconds: float | None

    @classmethod
    def from_message(cls, msg: dict[str, Any]) -> Ended:
        """Read the fields of a parsed ``ended`` (None where missing)."""
        finals, seconds = msg.get("finals"), msg.get("audio_seconds")
        return cls(
            finals=finals if isinstance(finals, int) else None,
            audio_seconds=float(seconds) if isinstance(seconds, int | float) else None,
        )


class AudioUplink:
    """One audio connection to ``/ws/audio/{room}``. Use as ``async with``, or call
    :meth:`close` when done."""

    def __init__(self, settings: UplinkSettings, on_final: FinalHandler | None = None) -> None:
        """Nothing happens on the network until :meth:`connect`."""
        self.settings = settings
        self.on_final = on_final
        self.ready: Ready | None = None
        self.frames_sent = 0
        self.bytes_sent = 0
        self.finals_received = 0
        self.closed_by_server = False
        """True once the server ended the stream itself (an ``error`` or a close frame): it
        finalized what it had received."""
        self._ws: ClientConnection | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._ended: asyncio.Future[Ended] | None = None

    @property
    def url(self) -> str:
        """The server URL."""
        return self.settings.url

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def connect(self) -> Ready:
        """Open the WebSocket, send ``hello`` and wait for ``ready``.

        Raises :class:`ServerRefused` on an ``error`` or HTTP 4xx, :class:`UplinkLost` otherwise.
        """
        s = self.settings
        try:
            self._ws = await connect(
                s.url,
                **_tls_options(s),
                open_timeout=s.open_timeout,
                max_size=MAX_SERVER_MESSAGE_BYTES,
                compression=None,  # PCM barely compresses; deflate would only cost CPU
                user_agent_header=f"{s.client_name}/{s.client_version}",
                close_timeout=s.close_grace,
                ping_interval=s.ping_interval,
                ping_timeout=s.ping_timeout,
                write_limit=s.write_limit,
                additional_headers={"Authorization": f"Bearer {s.token}"} if s.token else None,
            )
        except InvalidStatus as exc:
            raise _http_refusal(self.url, exc) from None
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise UplinkLost(self.url, f"cannot connect: {_describe(exc)}") from None
        log.info("connected to %s", self.url)
        if s.send_buffer_bytes is not None:
            sock = self._ws.transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, s.send_buffer_bytes)
        try:
            self.ready = await self._hello()
        except BaseException:
            await self.close()
            raise
        self._ended = asyncio.get_running_loop().create_future()
        self._receiver = asyncio.create_task(self._receive_loop(), name="uplink-receiver")
        r = self.ready
        log.info(
            "ready: room %s, session %s, engine %s, language %s, timeline at %.1f s",
            r.room,
            r.session,
            r.engine,
            r.language,
            r.timeline_start,
        )
        return r

    async def send_frames(self, frames: AsyncIterable[bytes], pacer: Pacer) -> None:
        """Send each frame, paced by ``pacer``; stop with the server's error if it closes."""
        ws, receiver = self._streaming()
        start: float | None = None
        sent = 0
        async for frame in frames:
            if receiver.done():
                await self._receiver_failure()
            try:
                await ws.send(frame)
            except ConnectionClosed:
                await self._receiver_failure()
            if start is None:
                start = time.monotonic()
            sent += len(frame)
            self.frames_sent += 1
            self.bytes_sent += len(frame)
            delay = pacer.delay(sent / BYTES_PER_SECOND, time.monotonic() - start)
            if delay > 0:
                await asyncio.wait({receiver}, timeout=delay)  # wakes early if the link drops
            else:
                await asyncio.sleep(0)

    async def send(self, data: bytes | str) -> None:
        """Send one audio frame (bytes) or control message (text).

        Raises :class:`ServerRefused` or :class:`UplinkLost` when the connection has gone.
        """
        ws, receiver = self._streaming()
        if receiver.done():
            await self._receiver_failure()
        try:
            await ws.send(data)
        except ConnectionClosed:
            await self._receiver_failure()
        if isinstance(data, bytes):
            self.frames_sent += 1
            self.bytes_sent += len(data)

    async def wait_lost(self) -> NoReturn:
        """Wait until the connection goes, then raise why (:class:`ServerRefused` or
        :class:`UplinkLost`)."""
        _, receiver = self._streaming()
        await asyncio.wait({receiver})
        await self._receiver_failure()

    async def end(self) -> Ended:
        """Send ``end`` and wait for ``ended`` (finals keep arriving meanwhile)."""
        ws, receiver = self._streaming()
        assert self._ended is not None
        try:
            await ws.send(build_end())
        except ConnectionClosed:
            await self._receiver_failure()
        log.info("sent end after %d frames; waiting for the last finals", self.frames_sent)
        waiters: set[asyncio.Future[Any]] = {self._ended, receiver}
        await asyncio.wait(
            waiters,
            timeout=self.settings.end_timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if self._ended.done():
            with contextlib.suppress(TimeoutError, UplinkError):
                await asyncio.wait_for(asyncio.shield(receiver), self.settings.close_grace)
            return self._ended.result()
        if receiver.done():
            await self._receiver_failure()
        raise UplinkLost(
            self.url, f"no 'ended' from the server within {self.settings.end_timeout:g} s"
        )

    async def close(self) -> None:
        """Stop receiving and close the connection (code 1000); safe to call again."""
        receiver, self._receiver = self._receiver, None
        if receiver is not None and not receiver.done():
            receiver.cancel()
        if receiver is not None:
            with contextlib.suppress(asyncio.CancelledError, UplinkError):
                await receiver
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()
            log.info("disconnected from %s", self.url)

    def abort(self) -> None:
        """Drop a connection known to be dead at once (no closing handshake)."""
        if self._ws is not None:
            self._ws.transport.abort()

    # --- internals ---------------------------------------------------------------------

    def _streaming(self) -> tuple[ClientConnection, asyncio.Task[None]]:
        if self._ws is None or self._receiver is None:
            raise RuntimeError("the uplink is not connected: call connect() first")
        return self._ws, self._receiver

    async def _hello(self) -> Ready:
        """Send ``hello`` and wait for ``ready``."""
        assert self._ws is not None
        s = self.settings
        try:
            await self._ws.send(
                build_hello(s.language, s.client_name, s.client_version, s.device, s.stream)
            )
            async with asyncio.timeout(self.settings.ready_timeout):
                while True:
                    msg = _parse(await self._ws.recv())
                    if msg is None:
                        continue
                    if msg["type"] == "ready":
                        return Ready.from_message(msg)
                    if msg["type"] == "error":
                        raise _refusal(msg, await self._close_code())
                    log.warning("ignoring %r before 'ready'", msg["type"])
        except TimeoutError:
            raise UplinkLost(
                self.url, f"no 'ready' within {self.settings.ready_timeout:g} s after hello"
            ) from None
        except ConnectionClosed as exc:
            raise _closed(self.url, exc, "before 'ready'") from None

    async def _close_code(self) -> int | None:
        """After a fatal ``error``: the close code that follows it (None if none comes soon)."""
        assert self._ws is not None
        try:
            async with asyncio.timeout(self.settings.close_grace):
                while True:
                    await self._ws.recv()
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd is not None else None
        except TimeoutError:
            return None

    async def _receive_loop(self) -> None:
        """Read server messages until the connection closes; raise unless it ended cleanly."""
        assert self._ws is not None
        assert self._ended is not None
        fatal: dict[str, Any] | None = None
        try:
            while True:
                if fatal is None:
                    data = await self._ws.recv()
                else:
                    async with asyncio.timeout(self.settings.close_grace):
                        data = await self._ws.recv()
                msg = _parse(data)
                if msg is None:
                    continue
                kind = msg["type"]
                if kind == "final":
                    self.finals_received += 1
                    if self.on_final is not None:
                        self.on_final(msg)
                elif kind == "ended":
                    if not self._ended.done():
                        self._ended.set_result(Ended.from_message(msg))
                elif kind == "error":
                    if is_warning(msg.get("code")):
                        log.warning("server: %s: %s", msg.get("code"), msg.get("message"))
                    else:
                        fatal = msg
                else:
                    log.debug("ignoring server message %r", kind)
        except TimeoutError:
            assert fatal is not None
            self.closed_by_server = True
            raise _refusal(fatal, None) from None
        except ConnectionClosed as exc:
            self.closed_by_server = fatal is not None or exc.rcvd is not None
            if fatal is not None:
                raise _refusal(fatal, exc.rcvd.code if exc.rcvd else None) from None
            if self._ended.done() and exc.rcvd is not None and exc.rcvd.code == 1000:
                return
            raise _closed(self.url, exc, "while streaming", self.settings.ping_timeout) from None

    async def _receiver_failure(self) -> NoReturn:
        """The connection is closing: raise the receiver's account of why."""
        assert self._receiver is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._receiver), self.settings.close_grace)
        raise UplinkLost(self.url, "the connection closed")


def _parse(data: str | bytes) -> dict[str, Any] | None:
    if isinstance(data, bytes):
        log.warning("ignoring a binary message from the server (%d bytes)", len(data))
        return None
    try:
        return parse_server_message(data)
    except ServerMessageError as exc:
        log.warning("ignoring a malformed server message: %s", exc)
        return None


def _refusal(msg: dict[str, Any], close_code: int | None) -> ServerRefused:
    return ServerRefused(str(msg.get("code", "error")), str(msg.get("message", "")), close_code)


def _closed(
    url: str, exc: ConnectionClosed, when: str, ping_timeout: float | None = None
) -> UplinkError:
    """A close without an ``error`` message: a refusal if the code says so, else a loss."""
    if exc.rcvd is None:
        if exc.sent is not None and exc.sent.code == 1011 and "ping" in exc.sent.reason:
            timeout = ping_timeout or 0.0
            return UplinkLost(url, f"no answer to pings for {timeout:g} s {when}", timeout)
        return UplinkLost(url, f"connection lost {when} (no close frame)")
    code, reason = exc.rcvd.code, exc.rcvd.reason
    refusal = refusal_from_close(code, reason)
    if refusal is not None:
        return ServerRefused(*refusal, code)
    said = f": {reason}" if reason else ""
    return UplinkLost(url, f"server closed the connection {when} (code {code}{said})")


def _http_refusal(url: str, exc: InvalidStatus) -> UplinkError:
    response = exc.response
    refusal = refusal_from_http(response.status_code, response.reason_phrase, bytes(response.body))
    if refusal is None:
        return UplinkLost(
            url, f"cannot connect: HTTP {response.status_code} {response.reason_phrase}"
        )
    return ServerRefused(*refusal, None)


def _tls_options(s: UplinkSettings) -> dict[str, Any]:
    """``ssl=`` for ``connect()``: the venue's CA for ``wss://`` when one is set."""
    if s.ca_file is None or not s.url.startswith("wss://"):
        return {}
    try:
        return {"ssl": ssl.create_default_context(cafile=s.ca_file)}
    except (OSError, ssl.SSLError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UplinkLost(s.url, f"cannot use the CA file {s.ca_file}: {detail}") from None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"the server's TLS certificate is not trusted ({exc.verify_message}); "
            "set EDGE_AUDIO_CA_FILE to the CA that signed it"
        )
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed ({exc.reason or exc}): does the server serve https?"
    if isinstance(exc, OSError) and exc.errno and exc.errno > 0:
        return os.strerror(exc.errno).lower()  # asyncio's own text repeats the address
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()  # name resolution errors have negative numbers
    return str(exc) or exc.__class__.__name__

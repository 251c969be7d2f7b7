"""A local Amazon Transcribe Streaming endpoint: HTTP/2 over TLS on 127.0.0.1.

It speaks the real protocol to the real ``amazon-transcribe`` client: a signed
``POST /stream-transcription`` whose body is an event stream of signed ``AudioEvent`` messages,
answered with an event stream of ``TranscriptEvent`` JSON (see :mod:`transcribe_model` for how
results are computed from the audio) or with scripted errors: an HTTP error answer, an
event-stream exception after some audio, a dropped connection, slow events, no answer at all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    RequestReceived,
    StreamEnded,
    StreamReset,
    WindowUpdated,
)
from h2.exceptions import ProtocolError

from tests.fakes.tls import LocalCA
from tests.fakes.transcribe_fake_stream import FakeStream
from tests.fakes.transcribe_script import RecordedStream, StreamScript

__all__ = ["RecordedStream", "StreamScript", "TranscribeFake"]


class _Protocol(asyncio.Protocol):
    def __init__(self, fake: TranscribeFake) -> None:
        self.fake = fake
        self.conn = H2Connection(
            H2Configuration(
                client_side=False, header_encoding="utf-8", validate_inbound_headers=False
            )
        )
        self.transport: asyncio.Transport | None = None
        self.streams: dict[int, FakeStream] = {}
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.fake.connections.add(self)
        self.conn.initiate_connection()
        self.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.fake.connections.discard(self)
        for stream in self.streams.values():
            stream.record.closed = True

    def flush(self) -> None:
        if self.transport is not None and not self.closed:
            data = self.conn.data_to_send()
            if data:
                self.transport.write(data)

    def drop(self) -> None:
        """Abort the TCP connection (a network failure, seen by the client mid-stream)."""
        if self.transport is not None:
            self.transport.abort()
        self.closed = True

    def data_received(self, data: bytes) -> None:
        try:
            events = self.conn.receive_data(data)
        except ProtocolError:
            self.drop()
            return
        for event in events:
            if self.closed:
                return
            self._event(event)
        self.flush()

    def _event(self, event: object) -> None:
        if isinstance(event, RequestReceived):
            headers = {str(k).lower(): str(v) for k, v in event.headers or []}
            record = RecordedStream(index=len(self.fake.streams), headers=headers)
            self.fake.streams.append(record)
            stream = FakeStream(self, event.stream_id, record)
            self.streams[event.stream_id] = stream
            stream.start()
        elif isinstance(event, DataReceived):
            stream = self.streams.get(event.stream_id)
            if event.flow_controlled_length and (stream is None or stream.acks()):
                with contextlib.suppress(ProtocolError):
                    self.conn.acknowledge_received_data(
                        event.flow_controlled_length, event.stream_id
                    )
            if stream is not None and event.data:
                stream.data(event.data)
        elif isinstance(event, StreamEnded):
            stream = self.streams.get(event.stream_id)
            if stream is not None and not stream.failed and not stream.script.hang:
                stream.finish()
        elif isinstance(event, StreamReset):
            stream = self.streams.pop(event.stream_id, None)
            if stream is not None:
                stream.record.closed = True
        elif isinstance(event, WindowUpdated):
            targets = (
                self.streams.values()
                if event.stream_id == 0
                else [s for s in [self.streams.get(event.stream_id)] if s is not None]
            )
            for stream in list(targets):
                stream.pump()
        elif isinstance(event, ConnectionTerminated):
            self.closed = True
            if self.transport is not None:
                self.transport.close()


class TranscribeFake:
    """The fake endpoint. ``async with TranscribeFake(ca) as fake: fake.url``."""

    def __init__(
        self,
        ca: LocalCA,
        *,
        scripts: list[StreamScript] | None = None,
        language_for: Callable[[int], str] | None = None,
        stable_tail: int = 2,
        max_words: int = 12,
    ) -> None:
        self.ca = ca
        self.scripts: list[StreamScript] = list(scripts or [])
        self.language_for = language_for
        self.stable_tail = stable_tail
        self.max_words = max_words
        self.streams: list[RecordedStream] = []
        self.connections: set[_Protocol] = set()
        self._server: asyncio.Server | None = None

    def next_script(self) -> StreamScript:
        """The script for the next request (the default behaviour once the list is used up)."""
        return self.scripts.pop(0) if self.scripts else StreamScript()

    async def start(self) -> TranscribeFake:
        """Listen on an ephemeral port of 127.0.0.1."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Protocol(self),
            "127.0.0.1",
            0,
            ssl=self.ca.server_context(alpn=["h2"]),
        )
        return self

    @property
    def port(self) -> int:
        """The port it listens on."""
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        """The endpoint URL for clients (the certificate is valid for 127.0.0.1)."""
        return f"https://127.0.0.1:{self.port}"

    def drop_connections(self) -> None:
        """Abort every open connection now."""
        for proto in list(self.connections):
            proto.drop()

    async def close(self) -> None:
        """Stop listening and drop every connection."""
        self.drop_connections()
        if self._server is not None:
            self._server.close()
            abort = getattr(self._server, "abort_clients", None)
            if abort is not None:  # Python 3.13: also connections still in their TLS handshake
                abort()
            await asyncio.wait_for(self._server.wait_closed(), 5)

    async def __aenter__(self) -> TranscribeFake:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

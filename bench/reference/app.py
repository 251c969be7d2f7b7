"""The reference design's approach, reproduced: ``python -m bench.reference.app --endpoint URL``.

A FastAPI server: WebSocket audio in, the plain ``amazon-transcribe`` SDK used as its README
shows (``TranscribeStreamingClient``, ``start_stream_transcription``, a
``TranscriptResultStreamHandler``), and each caption sent to the room's subscribers one after
the other (``for ws in subscribers: await ws.send_text(...)``). Served by uvicorn on 127.0.0.1.

Deviations, only so it can run here: the endpoint is the local Transcribe fake
(``StaticEndpointResolver``) and the SDK's TLS context trusts the fake's test CA. The first text
message of an audio socket (our ``hello``) is ignored; no ``ready`` is part of the design, so
one is sent to let the same load generator drive both servers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
from collections import defaultdict

import uvicorn
from amazon_transcribe.client import TranscribeStreamingClient
from amazon_transcribe.endpoints import StaticEndpointResolver
from amazon_transcribe.handlers import TranscriptResultStreamHandler
from amazon_transcribe.model import TranscriptEvent, TranscriptResultStream
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()
subscribers: dict[str, set[WebSocket]] = defaultdict(set)
ENDPOINT: dict[str, str] = {}


def make_client() -> TranscribeStreamingClient:
    """The SDK client, pointed at the fake and trusting its CA."""
    from awscrt import io

    client = TranscribeStreamingClient(
        region="us-east-1", endpoint_resolver=StaticEndpointResolver(ENDPOINT["url"])
    )
    tls = io.TlsContextOptions()
    tls.override_default_trust_store_from_path(None, ENDPOINT["ca"])
    client._session_manager._tls_ctx = io.ClientTlsContext(tls)
    return client


class CaptionHandler(TranscriptResultStreamHandler):
    """Sends every result to the room's subscribers, one after the other."""

    def __init__(self, output_stream: TranscriptResultStream, room: str) -> None:
        super().__init__(output_stream)
        self.room = room

    async def handle_transcript_event(self, transcript_event: TranscriptEvent) -> None:
        """One event: each result to every subscriber."""
        for result in transcript_event.transcript.results:
            if not result.alternatives:
                continue
            message = json.dumps(
                {
                    "type": "partial" if result.is_partial else "final",
                    "room": self.room,
                    "text": result.alternatives[0].transcript,
                    "start": result.start_time,
                    "end": result.end_time,
                }
            )
            for ws in list(subscribers[self.room]):
                try:
                    await ws.send_text(message)
                except Exception:  # the reference drops a subscriber whose send failed
                    subscribers[self.room].discard(ws)


@app.websocket("/ws/captions/{room}")
async def captions(ws: WebSocket, room: str) -> None:
    """A subscriber: registered until it disconnects."""
    await ws.accept()
    subscribers[room].add(ws)
    try:
        while True:
            await ws.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        subscribers[room].discard(ws)


@app.websocket("/ws/audio/{room}")
async def audio(ws: WebSocket, room: str) -> None:
    """The audio source: PCM frames into a Transcribe stream, results to subscribers."""
    await ws.accept()
    await ws.receive_text()  # our hello
    stream = await make_client().start_stream_transcription(
        language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
    )
    await ws.send_text(json.dumps({"type": "ready", "room": room}))
    handler = CaptionHandler(stream.output_stream, room)

    async def write_chunks() -> None:
        try:
            while True:
                message = await ws.receive()
                if message.get("bytes"):
                    await stream.input_stream.send_audio_event(audio_chunk=message["bytes"])
                elif message["type"] == "websocket.disconnect" or (
                    message.get("text") and '"end"' in message["text"]
                ):
                    break
        finally:
            await stream.input_stream.end_stream()

    await asyncio.gather(write_chunks(), handler.handle_events())


def main() -> None:
    """Command line: serve on 127.0.0.1, print ``READY <port>``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    ENDPOINT.update(url=args.endpoint, ca=args.ca)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(4096)
    print(f"READY {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning", ws_ping_interval=20, ws_ping_timeout=20)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()

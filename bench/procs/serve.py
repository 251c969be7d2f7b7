"""The server under test, in its own process: ``python -m bench.procs.serve --state DIR [...]``.

It builds the real application with :func:`edge_server.web.app.create_app`, optionally with the
deterministic engines of :mod:`bench.lib.engines`, serves it on 127.0.0.1 and prints
``READY <port>`` once it listens. SIGTERM stops it cleanly.

For the hub benchmark (:mod:`bench.parts.hub_relay`) it replicates to Redis
(``--replicate-to``), translates with the echo translator into ``--targets``, and writes each
final's publication in the room (the pipeline trace's ``published`` step, the moment the room
hands the final to its own subscribers) to ``--published`` as ``<segment> <monotonic time>``
lines: the room's clock reading at publication, read back by the remote listeners.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import re
import signal
import sys
import time
from pathlib import Path
from typing import IO, Any

from aiohttp import web

from bench.lib.engines import EchoTranslator, FixedLatencyRecognizer, FixedSynthesizer
from edge_server.core.settings import RoomSettings, ServerSettings
from edge_server.core.trace import Stage
from edge_server.web.app import create_app

FINAL_SEGMENT = re.compile(r'^\{"type":"final".*?"segment":(\d+)')


class PublishLog:
    """A pipeline trace that appends ``<segment> <time.monotonic()>`` for each final the room
    publishes (flushed at once: the listeners' processes read the file)."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def __call__(self, stage: Stage, item: object) -> None:
        """Note a final's publication."""
        if stage is Stage.PUBLISHED and isinstance(item, str):
            now = time.monotonic()
            if match := FINAL_SEGMENT.match(item):
                self.out.write(f"{match.group(1)} {now:.6f}\n")
                self.out.flush()


def build_settings(args: argparse.Namespace) -> ServerSettings:
    """Product defaults, except what the benchmark must change (each one said in the doc)."""
    known = {f.name for f in dataclasses.fields(ServerSettings)}
    room: dict[str, Any] = {"engine": args.engine}
    if args.speech:
        room.update(targets=("it",), translator="amazon-translate", synthesizer="espeak")
    elif args.targets:
        room.update(targets=tuple(args.targets.split(",")), translator="amazon-translate")
    if args.engine == "transcribe":
        room.update(fallback=True)
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 8080,
        "state_dir": Path(args.state),
        "fsync": args.fsync,
        "default_room": RoomSettings(**room),
        "offline_search": getattr(args, "offline_search", "adaptive"),
    }
    if args.subscriber_queue:
        values["subscriber_queue"] = args.subscriber_queue
    if args.replicate_to:
        values.update(replicate_to=args.replicate_to, replicate_maxlen=args.replicate_maxlen)
    # Hundreds of clients from one address: the per-address connection limit must allow them.
    for name, value in (("connect_burst", 100_000), ("connect_rate", 100_000)):
        if name in known:
            values[name] = value
    return ServerSettings(**values)


async def serve(args: argparse.Namespace, published: IO[str] | None = None) -> None:
    """Serve until SIGTERM; ``published``: where each final's publication is noted."""
    settings = build_settings(args)
    recognizer = synthesizer = translator = None
    if args.mode == "fixed":
        latency = args.latency_ms / 1000.0
        prefix = args.prefix
        recognizer = lambda name, room, server: FixedLatencyRecognizer(latency, prefix)  # noqa: E731
    if args.speech:
        synthesizer = lambda name, room, server: FixedSynthesizer(args.speech_s)  # noqa: E731
    if args.speech or args.targets:
        translator = lambda name, room, server: EchoTranslator()  # noqa: E731
    trace = PublishLog(published) if published is not None else None
    app = create_app(settings, recognizer, synthesizer, translator, trace=trace)  # type: ignore[arg-type]
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port, backlog=4096)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print(f"READY {port}", flush=True)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mode", choices=("fixed", "real"), default="fixed")
    parser.add_argument("--engine", choices=("pocketsphinx", "transcribe"), default="pocketsphinx")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--offline-search", default="adaptive", help="the embedded engine's search")
    parser.add_argument("--fsync", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--speech", action="store_true", help="translate to it and speak it")
    parser.add_argument("--speech-s", type=float, default=2.0)
    parser.add_argument("--subscriber-queue", type=int, default=0)
    parser.add_argument("--targets", default="", help="echo-translate into these (it,de)")
    parser.add_argument("--prefix", default="", help="words before each final's m<id>")
    parser.add_argument("--replicate-to", default="", help="redis:// URL to replicate to")
    parser.add_argument("--replicate-maxlen", type=int, default=100_000)
    parser.add_argument("--published", default="", help="append each final's publication here")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level, stream=sys.stderr)
    if not args.published:
        asyncio.run(serve(args))
        return
    with Path(args.published).open("a", encoding="utf-8") as published:
        asyncio.run(serve(args, published))


if __name__ == "__main__":
    main()

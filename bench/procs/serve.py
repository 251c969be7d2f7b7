"""The server under test, in its own process: ``python -m bench.procs.serve --state DIR [...]``.

It builds the real application with :func:`edge_server.web.app.create_app`, optionally with the
deterministic engines of :mod:`bench.lib.engines`, serves it on 127.0.0.1 and prints
``READY <port>`` once it listens. SIGTERM stops it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.lib.engines import EchoTranslator, FixedLatencyRecognizer, FixedSynthesizer
from edge_server.core.settings import RoomSettings, ServerSettings
from edge_server.web.app import create_app


def build_settings(args: argparse.Namespace) -> ServerSettings:
    """Product defaults, except what the benchmark must change (each one said in the doc)."""
    known = {f.name for f in dataclasses.fields(ServerSettings)}
    room: dict[str, Any] = {"engine": args.engine}
    if args.speech:
        room.update(targets=("it",), translator="amazon-translate", synthesizer="espeak")
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
    # Hundreds of clients from one address: the per-address connection limit must allow them.
    for name, value in (("connect_burst", 100_000), ("connect_rate", 100_000)):
        if name in known:
            values[name] = value
    return ServerSettings(**values)


async def serve(args: argparse.Namespace) -> None:
    """Serve until SIGTERM."""
    settings = build_settings(args)
    recognizer = synthesizer = translator = None
    if args.mode == "fixed":
        latency = args.latency_ms / 1000.0
        recognizer = lambda name, room, server: FixedLatencyRecognizer(latency)  # noqa: E731
    if args.speech:
        synthesizer = lambda name, room, server: FixedSynthesizer(args.speech_s)  # noqa: E731
        translator = lambda name, room, server: EchoTranslator()  # noqa: E731
    app = create_app(settings, recognizer, synthesizer, translator)  # type: ignore[arg-type]
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
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level, stream=sys.stderr)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()

"""``edge-audio run`` and ``edge-audio devices``: the live audio node's commands.

``run`` exit codes: 0 stopped (SIGTERM/SIGINT), 2 configuration error, 3 refused by the server
for a reason retrying cannot fix, 130 interrupted twice. ``devices``: 0 a device was chosen,
1 nothing matches the preference, 2 usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from edge_audio.discovery.probe import DiscoveryError, discover
from edge_audio.discovery.ranking import Preference
from edge_audio.discovery.report import ranking_json, ranking_text
from edge_audio.node import AudioNode
from edge_audio.settings import (
    DEFAULT_ENV_FILE,
    SettingsError,
    load_settings,
    parse_channel,
    parse_env_file,
)
from edge_server.contract.log_fields import set_log_fields

log = logging.getLogger(__name__)

EXIT_NO_DEVICE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _error(message: str) -> None:
    print(f"edge-audio: error: {message}", file=sys.stderr, flush=True)


def _channel(text: str) -> Any:
    try:
        return parse_channel(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add ``run`` and ``devices`` to the ``edge-audio`` subcommands."""
    env_help = (
        f"settings file (KEY=value lines, as systemd's EnvironmentFile=); default "
        f"{DEFAULT_ENV_FILE} if it exists"
    )
    run = sub.add_parser(
        "run",
        parents=[common],
        help="capture from a sound device and stream it to a room (the audio node)",
        description="Capture live audio from the configured device (PipeWire node or ALSA "
        "card), stream it to a room and keep doing so through device and network faults. "
        "Settings come from the environment file, then EDGE_AUDIO_* variables, then flags.",
    )
    run.add_argument("--env-file", help=env_help)
    run.add_argument("--server", help="server URL (EDGE_AUDIO_SERVER)")
    run.add_argument("--room", help="room name (EDGE_AUDIO_ROOM)")
    run.add_argument("--lang", dest="language", help="spoken language (EDGE_AUDIO_LANG)")
    run.add_argument(
        "--device", help="default | PATTERN | monitor:SINK PATTERN (EDGE_AUDIO_DEVICE)"
    )
    run.add_argument(
        "--channel",
        type=_channel,
        help="mix | left | right | input number from 1 (EDGE_AUDIO_CHANNEL; default mix)",
    )
    run.add_argument(
        "--buffer-seconds", type=float, help="audio kept while the server is away (default 60)"
    )
    run.add_argument("--silence-dbfs", type=float, help="silence threshold (default -50)")
    run.add_argument(
        "--no-signal-seconds", type=float, help="silence before the no-signal alarm (default 30)"
    )
    run.add_argument("--frame-ms", type=int, help="audio per frame, 20-100 ms (default 100)")
    run.set_defaults(handler=_run)

    devices = sub.add_parser(
        "devices",
        parents=[common],
        help="list capture devices, ranked, and the one run would use",
        description="List every capture candidate (PipeWire nodes and monitors, ALSA and "
        "JACK devices) ranked for the device preference, with the reasons, and mark the one "
        "'edge-audio run' would use. Exit 0 when one is chosen, 1 when nothing matches.",
    )
    devices.add_argument("--json", action="store_true", help="print JSON")
    devices.add_argument(
        "--prefer",
        metavar="PATTERN",
        help="default | PATTERN | monitor:SINK PATTERN (default: EDGE_AUDIO_DEVICE, or default)",
    )
    devices.add_argument("--env-file", help=env_help)
    devices.set_defaults(handler=_devices)


def _env_file(path: str | None) -> dict[str, str]:
    """The environment file's values: the given file (must exist) or the default if present."""
    chosen = Path(path) if path else Path(DEFAULT_ENV_FILE)
    if not path and not chosen.exists():
        return {}
    try:
        text = chosen.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"cannot read {chosen}: {exc.strerror or exc}") from None
    return parse_env_file(text, str(chosen))


def _run(args: argparse.Namespace) -> int:
    flags = {
        name: getattr(args, name, None)
        for name in (
            "server",
            "room",
            "language",
            "device",
            "channel",
            "buffer_seconds",
            "silence_dbfs",
            "no_signal_seconds",
            "frame_ms",
        )
    }
    try:
        settings = load_settings(_env_file(args.env_file), os.environ, flags)
    except SettingsError as exc:
        _error(str(exc))
        return EXIT_USAGE
    set_log_fields(room=settings.room)  # journalctl ROOM=...; the node's tasks inherit it
    return asyncio.run(_run_node(AudioNode(settings)))


async def _run_node(node: AudioNode) -> int:
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    received: list[str] = []

    def on_signal(name: str) -> None:
        received.append(name)
        if len(received) == 1:
            log.info("%s: stopping (ending the stream cleanly)", name)
            node.stop()
        elif main is not None:
            log.warning("%s again: stopping now", name)
            main.cancel()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig.name)
    try:
        return await node.run()
    except asyncio.CancelledError:
        return EXIT_INTERRUPTED


def _devices(args: argparse.Namespace) -> int:
    try:
        values = _env_file(args.env_file)
    except SettingsError as exc:
        _error(str(exc))
        return EXIT_USAGE
    text = args.prefer or os.environ.get("EDGE_AUDIO_DEVICE") or values.get("EDGE_AUDIO_DEVICE")
    try:
        preference = Preference.parse(text or "default")
        ranking, seen = discover(preference)
    except (ValueError, DiscoveryError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    if args.json:
        print(json.dumps(ranking_json(ranking, seen.pipewire_note), indent=2), flush=True)
    else:
        print(ranking_text(ranking, seen.pipewire_note), flush=True)
    return 0 if ranking.chosen is not None else EXIT_NO_DEVICE

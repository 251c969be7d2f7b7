"""``edge-audio``: the audio node's command line.

Subcommands: ``stream-file`` (send a sound file to a room; exit codes: 0 ok, 2 usage or file
error, 3 the server refused the stream, 4 the connection failed or was lost, 130 interrupted),
``run`` (the live audio node) and ``devices`` (the ranked capture devices): see
:mod:`edge_audio.cli_node`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge_audio import __version__
from edge_audio.capture.sources import AudioSource, AudioSourceError, FileSource, pcm_frames
from edge_audio.cli_node import add_commands
from edge_audio.link.uplink import (
    AudioUplink,
    FinalHandler,
    ServerRefused,
    UplinkLost,
    UplinkSettings,
)
from edge_audio.pcm.convert import ChannelSelection, PcmConverter
from edge_audio.pcm.framing import DEFAULT_FRAME_MS, FrameAssembler, frame_bytes_for_ms
from edge_audio.pcm.pacing import Pacer
from edge_server.contract.audio_format import BYTES_PER_SAMPLE, BYTES_PER_SECOND
from edge_server.contract.journal_logging import configure_logging
from edge_server.contract.log_fields import set_log_fields
from edge_server.contract.names import InvalidName, validate_language, validate_room_name
from edge_server.contract.terminal_text import format_final
from edge_server.contract.urls import audio_url

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_CONNECTION = 4
EXIT_INTERRUPTED = 130

FILE_BLOCK_FRAMES = 2048
"""Frames per file read: 43 ms at 48 kHz, 256 ms at 8 kHz; small reads never stall the loop."""


@dataclass(frozen=True)
class StreamSummary:
    """What a finished stream sent and what the server finalized."""

    frames: int
    audio_seconds: float
    finals: int
    session: str


async def stream_source(
    source: AudioSource,
    converter: PcmConverter,
    frame_bytes: int,
    pacer: Pacer,
    settings: UplinkSettings,
    on_final: FinalHandler | None = None,
) -> StreamSummary:
    """Stream ``source`` to the server until it ends, then ``end`` and wait for ``ended``."""
    async with AudioUplink(settings, on_final=on_final) as uplink:
        ready = await uplink.connect()
        allowed = ready.max_frame_bytes - ready.max_frame_bytes % BYTES_PER_SAMPLE
        if frame_bytes > allowed:
            log.warning("server accepts frames of at most %d bytes: using that", allowed)
            frame_bytes = allowed
        frames = pcm_frames(source, converter, FrameAssembler(frame_bytes))
        async with contextlib.aclosing(frames):
            await uplink.send_frames(frames, pacer)
        ended = await uplink.end()
        return StreamSummary(
            frames=uplink.frames_sent,
            audio_seconds=uplink.bytes_sent / BYTES_PER_SECOND,
            finals=ended.finals if ended.finals is not None else uplink.finals_received,
            session=ready.session,
        )


# --- terminal output --------------------------------------------------------------------------


def _print_final(msg: dict[str, Any]) -> None:
    print(format_final(msg), flush=True)


def _error(message: str) -> None:
    print(f"edge-audio: error: {message}", file=sys.stderr, flush=True)


# --- argument types ---------------------------------------------------------------------------


def _checked(check: Callable[[str], str]) -> Callable[[str], str]:
    def convert(text: str) -> str:
        try:
            return check(text)
        except InvalidName as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"speed must be a number >= 0, not {text!r}")
    return value


def _frame_ms(text: str) -> int:
    try:
        value = int(text)
        frame_bytes_for_ms(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"frame duration must be 20-100 ms, not {text!r}"
        ) from None
    return value


def _channel(text: str) -> ChannelSelection:
    if text == "mix":
        return "mix"
    if text.isdigit():
        return int(text)
    raise argparse.ArgumentTypeError(
        f"expected 'mix' or a channel number (0 = first), not {text!r}"
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``edge-audio`` argument parser, one subparser per subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--log-level",
        default=argparse.SUPPRESS,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
        help="logging level on stderr (default INFO)",
    )
    parser = argparse.ArgumentParser(
        prog="edge-audio",
        description="Audio node: stream sound to an edge-server room for live captions.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "stream-file",
        parents=[common],
        help="stream a sound file to a room",
        description="Stream a sound file (WAV, FLAC, OGG, ... any rate, channels and sample "
        "type) to a room as 16 kHz mono, printing the captions it produces.",
    )
    p.add_argument("file", metavar="FILE", help="sound file to stream")
    p.add_argument("--server", required=True, help="server URL: http(s)://host:port or ws(s)://")
    p.add_argument("--room", required=True, type=_checked(validate_room_name), help="room name")
    p.add_argument(
        "--lang",
        required=True,
        type=_checked(validate_language),
        help="spoken language, e.g. en-US",
    )
    p.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        help="multiple of real time (default 1.0; 0 = as fast as the server accepts)",
    )
    p.add_argument(
        "--frame-ms",
        type=_frame_ms,
        default=DEFAULT_FRAME_MS,
        help=f"audio per frame, 20-100 ms (default {DEFAULT_FRAME_MS})",
    )
    p.add_argument(
        "--channel",
        type=_channel,
        default="mix",
        help="channel to send: a number (0 = first/left) or 'mix' to average all (default)",
    )
    p.add_argument("--quiet", action="store_true", help="print only errors")
    p.set_defaults(handler=_stream_file)
    add_commands(sub, common)
    return parser


# --- commands ---------------------------------------------------------------------------------


def _stream_file(args: argparse.Namespace) -> int:
    try:
        url = audio_url(args.server, args.room)
        source = FileSource(args.file, block_frames=FILE_BLOCK_FRAMES)
    except (ValueError, AudioSourceError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    try:
        converter = PcmConverter(source.sample_rate, source.channels, args.channel)
    except ValueError as exc:
        source.close()
        _error(f"{args.file}: {exc}")
        return EXIT_USAGE
    settings = UplinkSettings(
        url=url,
        language=args.lang,
        token=os.environ.get("EDGE_AUDIO_TOKEN") or None,
        ca_file=os.environ.get("EDGE_AUDIO_CA_FILE") or None,
    )
    set_log_fields(room=args.room)  # journalctl ROOM=...; asyncio.run's tasks inherit it
    log.info("streaming %s to %s at speed %g", source.describe(), url, args.speed)
    coro = stream_source(
        source,
        converter,
        frame_bytes_for_ms(args.frame_ms),
        Pacer(args.speed),
        settings,
        on_final=None if args.quiet else _print_final,
    )
    try:
        summary = asyncio.run(coro)
    except ServerRefused as exc:
        _error(f"server refused the stream: {exc}")
        return EXIT_REFUSED
    except UplinkLost as exc:
        _error(f"{exc.url}: {exc.reason}")
        return EXIT_CONNECTION
    except AudioSourceError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED
    finally:
        source.close()
    if not args.quiet:
        print(
            f"done: {summary.frames} frames, {summary.audio_seconds:.1f} s of audio, "
            f"{summary.finals} final(s) (session {summary.session})",
            flush=True,
        )
    return EXIT_OK


def _configure_logging(level: str) -> None:
    # Under systemd with systemd-python: the journal with ROOM=/SESSION= fields; else stderr.
    configure_logging("edge-audio", level, "%(levelname)s %(name)s: %(message)s")


def main(argv: list[str] | None = None) -> int:
    """Run ``edge-audio`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    level = getattr(args, "log_level", "INFO")
    if getattr(args, "quiet", False) and level in ("DEBUG", "INFO"):
        level = "WARNING"
    _configure_logging(level)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())

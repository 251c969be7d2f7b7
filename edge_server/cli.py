"""``edge-server``: run the caption server, or follow a room's captions in a terminal."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from edge_server import __version__
from edge_server.contract.journal_logging import configure_logging
from edge_server.contract.names import InvalidName, validate_room_name
from edge_server.core.settings import ServerSettings, SettingsError, load_settings

if TYPE_CHECKING:  # aiohttp is imported by the commands that serve, not by `follow`
    import ssl

    from aiohttp import web


def _log_format() -> str:
    # journald adds its own timestamps.
    if os.environ.get("JOURNAL_STREAM"):
        return "%(levelname)s %(name)s: %(message)s"
    return "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _room_name(text: str) -> str:
    try:
        return validate_room_name(text)
    except InvalidName as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--log-level",
        default=argparse.SUPPRESS,
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level (default INFO)",
    )
    parser = argparse.ArgumentParser(
        prog="edge-server",
        description="Live captions for conference rooms: the room server. "
        "Without a command, runs `serve`.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"edge-server {__version__}")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the server (the default command)", parents=[common])
    _add_serve_arguments(serve)
    hub = sub.add_parser(
        "hub",
        help="serve the conference (overview, remote listeners, exports) from Redis",
        parents=[common],
    )
    _add_hub_arguments(hub)
    follow = sub.add_parser(
        "follow", help="print a room's captions as they arrive", parents=[common]
    )
    follow.add_argument("room", type=_room_name, help="room name")
    follow.add_argument("--server", default="http://127.0.0.1:8080", help="server URL")
    follow.add_argument("--backlog", type=int, default=10, help="recent finals to show first")
    follow.add_argument(
        "--token",
        default=os.environ.get("EDGE_SERVER_LISTENER_TOKEN"),
        help="listener token (default: $EDGE_SERVER_LISTENER_TOKEN)",
    )
    follow.add_argument(
        "--ca-file",
        type=Path,
        default=os.environ.get("EDGE_SERVER_CA_FILE") or None,
        help="CA certificate (PEM) that signed an https:// server's certificate, e.g. a venue's "
        "own CA (default: $EDGE_SERVER_CA_FILE; else the system's store)",
    )
    export = sub.add_parser(
        "export-talks",
        help="write each talk's transcript to a folder per talk slug (docs/talks.md)",
        parents=[common],
    )
    export.add_argument("--config", type=Path, help="the server's TOML settings")
    export.add_argument("--state-dir", type=Path, help="where transcripts live")
    export.add_argument("--schedule", help="Schedule XML file or URL (default: the setting)")
    export.add_argument(
        "--room", action="append", type=_room_name, help="only this room (repeatable)"
    )
    export.add_argument("--out", type=Path, required=True, help="folder to write into")
    return parser


def _add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML file with settings and [rooms.NAME]")
    parser.add_argument("--host", help="listen address (default 127.0.0.1; env EDGE_SERVER_HOST)")
    parser.add_argument("--port", type=int, help="TCP port (default 8080; env EDGE_SERVER_PORT)")
    parser.add_argument(
        "--state-dir", type=Path, help="where transcripts live (env EDGE_SERVER_STATE_DIR)"
    )
    parser.add_argument("--source-lang", help="default spoken language (default en-US)")
    parser.add_argument("--targets", help="default translation languages, comma-separated")
    parser.add_argument(
        "--no-fsync", action="store_true", help="do not fsync transcripts (tests, tmpfs)"
    )


def _add_hub_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML file with the server's settings")
    parser.add_argument("--host", help="listen address (default 127.0.0.1; env EDGE_SERVER_HOST)")
    parser.add_argument("--port", type=int, help="TCP port (default 8080; env EDGE_SERVER_PORT)")
    parser.add_argument(
        "--redis",
        help="redis:// or rediss:// address to serve from (env EDGE_SERVER_HUB_REDIS, which "
        "keeps the password out of the process list)",
    )


_OPEN_MEANS = {
    "audio": "stream audio (and start paid cloud work)",
    "listener": "read the captions",
    "admin": "change room languages",
}


def _serve(args: argparse.Namespace) -> int:

    from edge_server.web.app import create_app
    from edge_server.web.tls import TlsError, server_context

    try:
        settings = load_settings(
            config_file=args.config,
            overrides={
                "host": args.host,
                "port": args.port,
                "state_dir": args.state_dir,
                "source_lang": args.source_lang,
                "targets": args.targets,
                "fsync": False if args.no_fsync else None,
            },
        )
        tls = (
            server_context(settings.tls_certificate, settings.tls_key)
            if settings.tls_certificate is not None
            else None
        )
    except (SettingsError, TlsError) as exc:
        print(f"edge-server: configuration error: {exc}", file=sys.stderr)
        return 2
    log = logging.getLogger("edge_server")
    log.info(
        "edge-server %s on %s://%s:%d, state in %s, default engine %s",
        __version__,
        settings.scheme,
        settings.host,
        settings.port,
        settings.state_dir.resolve(),
        settings.default_room.engine,
    )
    open_roles = [role.value for role in settings.tokens.open_roles()]
    if open_roles:
        log.warning(
            "no token set for %s: anyone who can reach this server may %s "
            "(set EDGE_SERVER_*_TOKEN or the systemd credentials for a room open to the public)",
            ", ".join(open_roles),
            "; ".join(_OPEN_MEANS[r] for r in open_roles),
        )
    else:
        log.info("audio, listener and admin tokens set")
    from edge_server.core.glossary import GlossaryError
    from edge_server.rooms.glossary_files import check_glossaries

    try:
        check_glossaries(settings)
    except GlossaryError as exc:
        print(f"edge-server: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        settings.state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"edge-server: cannot create state dir {settings.state_dir}: {exc}", file=sys.stderr)
        return 2
    app = create_app(settings)
    return _run_app(app, settings, tls)


LISTEN_BACKLOG = 1024
"""Connections the kernel queues before the server accepts them (aiohttp's default is 128): a
hub whose sibling died, or a room after a Wi-Fi blip, gets its listeners back all at once. The
kernel caps it at ``net.core.somaxconn`` (4096 on current Debian)."""


def _run_app(app: web.Application, settings: ServerSettings, tls: ssl.SSLContext | None) -> int:
    """Serve ``app`` until stopped: READY=1 once listening, WATCHDOG=1 while the loop turns."""
    from aiohttp import web

    from edge_server.web.systemd_lifecycle import SystemdNotify

    notify = SystemdNotify()
    app.cleanup_ctx.append(notify.lifecycle)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        ssl_context=tls,
        print=notify.ready,
        access_log=None,
        shutdown_timeout=10.0,
        backlog=LISTEN_BACKLOG,
    )
    return 0


def _read_schedule(source: str, timeout_s: float) -> bytes:
    """The schedule's bytes from a file or an http(s) URL (raises ScheduleError)."""
    import urllib.error
    import urllib.request

    from edge_server.core.schedule_xml import MAX_SCHEDULE_BYTES, ScheduleError

    try:
        if not source.startswith(("http://", "https://")):
            return Path(source).read_bytes()
        headers = {"User-Agent": f"edge-server/{__version__}"}
        request = urllib.request.Request(source, headers=headers)  # noqa: S310 (http(s) only)
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            data: bytes = response.read(MAX_SCHEDULE_BYTES + 1)
            return data
    except (OSError, urllib.error.URLError) as exc:
        raise ScheduleError(f"cannot read {source}: {exc}") from None


def _export_talks(args: argparse.Namespace) -> int:
    from edge_server.core.schedule_xml import ScheduleError, parse_schedule
    from edge_server.rooms.talk_export import export_room, rooms_on_disk

    try:
        settings = load_settings(
            config_file=args.config,
            overrides={"state_dir": args.state_dir, "schedule": args.schedule},
        )
    except SettingsError as exc:
        print(f"edge-server export-talks: configuration error: {exc}", file=sys.stderr)
        return 2
    if not settings.schedule:
        print("edge-server export-talks: no schedule (--schedule or the setting)", file=sys.stderr)
        return 2
    try:
        schedule = parse_schedule(_read_schedule(settings.schedule, settings.schedule_timeout_s))
    except ScheduleError as exc:
        print(f"edge-server export-talks: schedule {settings.schedule}: {exc}", file=sys.stderr)
        return 2
    rooms = args.room or rooms_on_disk(settings)
    written = 0
    for room in rooms:
        try:
            exported = export_room(settings, schedule, room, args.out)
        except OSError as exc:
            print(f"edge-server export-talks: room {room}: {exc}", file=sys.stderr)
            return 1
        for item in exported:
            if item.folder is None:
                print(f"room {room}: not in the schedule ({item.finals} finals not exported); "
                      "set schedule_room", file=sys.stderr)  # fmt: skip
                continue
            written += 1
            print(f"{room}\t{item.talk_id}\t{item.finals} finals\t{item.folder}")
    print(f"{written} talk(s) written to {args.out}", file=sys.stderr)
    return 0


def _hub(args: argparse.Namespace) -> int:
    from edge_server.core.replication import redact_url
    from edge_server.hub.app import create_hub_app
    from edge_server.web.tls import TlsError, server_context

    try:
        settings = load_settings(
            config_file=args.config,
            overrides={"host": args.host, "port": args.port, "hub_redis": args.redis},
        )
        tls = (
            server_context(settings.tls_certificate, settings.tls_key)
            if settings.tls_certificate is not None
            else None
        )
    except (SettingsError, TlsError) as exc:
        print(f"edge-server hub: configuration error: {exc}", file=sys.stderr)
        return 2
    if not settings.hub_redis:
        print(
            "edge-server hub: configuration error: no Redis to serve from "
            "(--redis URL or EDGE_SERVER_HUB_REDIS)",
            file=sys.stderr,
        )
        return 2
    log = logging.getLogger("edge_server")
    log.info(
        "edge-server hub %s on %s://%s:%d, serving from %s",
        __version__, settings.scheme, settings.host, settings.port,
        redact_url(settings.hub_redis),
    )  # fmt: skip
    open_roles = [r.value for r in settings.tokens.open_roles() if r.value != "audio"]
    if open_roles:
        log.warning("no token set for %s on this hub: open to anyone who reaches it", open_roles)
    app = create_hub_app(settings, settings.hub_redis)
    return _run_app(app, settings, tls)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``edge-server``."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if not {"serve", "follow", "export-talks", "hub", "-h", "--help", "--version"} & set(argv):
        argv = ["serve", *argv]
    args = parser.parse_args(argv)
    # Under systemd with systemd-python: the journal with ROOM=/SESSION= fields; else stderr.
    configure_logging("edge-server", getattr(args, "log_level", "INFO"), _log_format())
    if args.command == "follow":
        from edge_server.contract.urls import captions_url
        from edge_server.follow import follow

        try:
            captions_url(args.server, args.room, 0, False)
        except ValueError as exc:
            print(f"edge-server follow: {exc}", file=sys.stderr)
            return 2
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(
                follow(args.server, args.room, args.backlog, token=args.token, ca_file=args.ca_file)
            )
        return 0
    if args.command == "export-talks":
        return _export_talks(args)
    if args.command == "hub":
        return _hub(args)
    return _serve(args)


if __name__ == "__main__":
    sys.exit(main())

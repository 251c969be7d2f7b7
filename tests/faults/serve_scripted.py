"""``python -m tests.faults.serve_scripted``: a real edge-server process whose rooms use the
deterministic :class:`~tests.helpers.scripted_engine.ScriptedRecognizer` (a 0.5 s chunk of
samples all equal to ``n`` is the word ``w<n>``, zeros are a pause). Settings come from
``EDGE_SERVER_*`` variables and the flags, exactly as for ``edge-server serve``; it prints
``LISTENING`` once the socket is open. Used where a test needs the server as a separate
process: to SIGKILL it, to read its memory and file descriptors from ``/proc``, or to run it in
a network namespace. ``--prefix-translator`` translates with the deterministic
:class:`~tests.helpers.scripted_engine.PrefixTranslator` (``w1 w2`` in Italian is ``it w1 w2``)
in place of the translator the settings name.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from aiohttp import web

from edge_server.core.settings import SettingsError, load_settings
from edge_server.web.app import create_app
from tests.helpers.scripted_engine import PrefixTranslator, ScriptedRecognizer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="serve_scripted")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--no-fsync", action="store_true")
    parser.add_argument("--prefix-translator", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = load_settings(
            overrides={
                "host": args.host,
                "port": args.port,
                "state_dir": args.state_dir,
                "fsync": False if args.no_fsync else None,
            }
        )
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    translator = PrefixTranslator() if args.prefix_translator else None
    app = create_app(
        settings,
        lambda name, room, server: ScriptedRecognizer("scripted"),
        translator_factory=(lambda name, room, server: translator) if translator else None,
    )
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        print=lambda *_: print("LISTENING", flush=True),
        access_log=None,
        shutdown_timeout=5.0,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

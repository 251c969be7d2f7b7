"""``python -m tests.faults.serve_scripted``: a real edge-server process whose rooms use the
deterministic :class:`~tests.helpers.scripted_engine.ScriptedRecognizer` (a 0.5 s chunk of
samples all equal to ``n`` is the word ``w<n>``, zeros are a pause). Settings come from
``EDGE_SERVER_*`` variables and the flags, exactly as for ``edge-server serve``; it prints
``LISTENING`` once the socket is open. Used where a test needs the server as a separate
process: to SIGKILL it, to read its memory and file descriptors from ``/proc``, or to run it in
a network namespace. ``--prefix-translator`` translates with the deterministic
:class:`~tests.helpers.scripted_engine.PrefixTranslator` (``w1 w2`` in Italian is ``it w1 w2``)
in place of the translator the settings name. ``--die-after-final N`` SIGKILLs the process
itself right after its ``N``-th final is written to the transcript, before anyone is sent it:
the power cut between the write and the reply, made deterministic.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from edge_server.core.settings import SettingsError, load_settings
from edge_server.rooms.transcript import TranscriptStore
from edge_server.web.app import create_app
from tests.helpers.scripted_engine import PrefixTranslator, ScriptedRecognizer


def die_after_final(count: int) -> None:
    """SIGKILL this process once ``count`` finals are written (test-only: wraps the store)."""
    append = TranscriptStore.append
    written = 0

    async def append_then_die(
        self: TranscriptStore, record: dict[str, Any], stream_mark: tuple[str, int] | None = None
    ) -> bool:
        nonlocal written
        saved = await append(self, record, stream_mark)
        written += 1
        if written >= count:
            logging.getLogger(__name__).warning("final %d written: SIGKILL now", written)
            os.kill(os.getpid(), signal.SIGKILL)
        return saved

    TranscriptStore.append = append_then_die  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="serve_scripted")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--no-fsync", action="store_true")
    parser.add_argument("--prefix-translator", action="store_true")
    parser.add_argument("--die-after-final", type=int, default=0)
    args = parser.parse_args(argv)
    if args.die_after_final > 0:
        die_after_final(args.die_after_final)
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

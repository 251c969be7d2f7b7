"""The recognizer worker process: ``python -m edge_server.engines.pocketsphinx.worker``.

Reads command records (see :mod:`.worker_protocol`) on stdin and writes JSON lines on stdout.
Exits when stdin closes. It is started and supervised by :mod:`.recognizer`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
from typing import BinaryIO

from edge_server.engines.pocketsphinx.decoder import StreamingDecoder
from edge_server.engines.pocketsphinx.vocabulary import forms_from_json
from edge_server.engines.pocketsphinx.worker_protocol import (
    HEADER,
    Command,
    DecoderOptions,
    decode_header,
    encode_event,
)

log = logging.getLogger("edge_server.engines.pocketsphinx.worker")

NICENESS = 5
"""The worker yields the CPU to the server when both want it: on a budget too small for the
recognizer, the server still answers pings, serves the status page and says the room is
behind, instead of stalling with it."""


def _read_exact(stream: BinaryIO, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def serve(stdin: BinaryIO, stdout: BinaryIO, options: DecoderOptions) -> None:
    """Process commands until stdin closes."""
    decoder = StreamingDecoder(options)

    def emit(event: dict[str, object]) -> None:
        stdout.write(encode_event(event))
        stdout.flush()

    emit({"t": "ready"})
    while True:
        header = _read_exact(stdin, HEADER.size)
        if header is None:
            return
        command, length = decode_header(header)
        payload = _read_exact(stdin, length) if length else b""
        if payload is None:
            return
        if command is Command.START:
            decoder.start_stream()
            emit({"t": "started"})
        elif command is Command.AUDIO:
            for event in decoder.process(payload):
                emit(event)
        elif command is Command.STEP:
            for event in decoder.request_step(int(json.loads(payload)["step"])):
                emit(event)
        elif command is Command.GLOSSARY:
            try:
                forms = forms_from_json(json.loads(payload))
            except ValueError as exc:  # the decoder goes on with the glossary it has
                emit({"t": "glossary", "error": str(exc)})
                continue
            for event in decoder.set_glossary(forms):
                emit(event)
        elif command is Command.FINISH:
            for event in decoder.finish():
                emit(event)
            emit({"t": "finished"})


def main() -> None:
    """Entry point of the worker process."""
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when we stop
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    options = DecoderOptions(**json.loads(sys.argv[1])) if len(sys.argv) > 1 else DecoderOptions()
    try:
        serve(sys.stdin.buffer, sys.stdout.buffer, options)
    except BrokenPipeError:
        pass
    except Exception as exc:
        log.exception("recognizer worker failed")
        try:
            sys.stdout.buffer.write(encode_event({"t": "error", "message": str(exc)}))
            sys.stdout.buffer.flush()
        except OSError:
            pass
        sys.exit(1)


if __name__ == "__main__":
    main()

"""``python -m tests.faults.subscribe URL``: a caption subscriber that prints every message as
a JSON line with ``"_at"`` (the wall clock when it arrived), and redials when the link goes
(``{"_closed": code}`` lines), like a kiosk. ``--health URL`` prints ``/healthz`` once instead.
Used inside network namespaces, where the test process itself cannot connect."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import urllib.request

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake


async def follow(url: str) -> None:
    while True:
        try:
            async with connect(url, open_timeout=5, ping_interval=5, ping_timeout=10) as ws:
                print(json.dumps({"_open": True, "_at": time.time()}), flush=True)
                async for raw in ws:
                    message = json.loads(raw)
                    message["_at"] = time.time()
                    print(json.dumps(message), flush=True)
                code = ws.close_code
        except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
            code = getattr(exc, "code", None) or exc.__class__.__name__
        print(json.dumps({"_closed": code, "_at": time.time()}), flush=True)
        await asyncio.sleep(1.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="subscribe")
    parser.add_argument("url")
    parser.add_argument("--health", action="store_true", help="print the URL's JSON once")
    args = parser.parse_args(argv)
    if args.health:
        with urllib.request.urlopen(args.url, timeout=10) as answer:
            print(answer.read().decode())
        return 0
    asyncio.run(follow(args.url))
    return 0


if __name__ == "__main__":
    sys.exit(main())

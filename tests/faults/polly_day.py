"""``python -m tests.faults.polly_day``: the Polly fake (:class:`tests.fakes.polly_fake.PollyFake`)
as a process of its own, so it can run beside a server in a network namespace and outlive the
server's restarts.

It prints ``{"url": ...}`` once listening on 127.0.0.1. SIGUSR1: Polly goes down (every
request answered 503); SIGUSR2: it answers again. On SIGTERM it prints ``{"voices": n,
"speech": n, "spoken": n, "refused": n}`` (DescribeVoices and SynthesizeSpeech requests, the
sentences answered with audio, the requests answered 503) and exits.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from tests.fakes.polly_fake import PollyFake


async def run() -> dict[str, int]:
    fake = await PollyFake().start()
    stop = asyncio.Event()
    refused = 0
    calls_at_fail = 0

    def fail() -> None:
        nonlocal calls_at_fail
        calls_at_fail = len(fake.calls)
        fake.fail()
        print(json.dumps({"failing": True}), flush=True)

    def recover() -> None:
        nonlocal refused
        refused += len(fake.calls) - calls_at_fail
        fake.recover()
        print(json.dumps({"failing": False}), flush=True)

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, fail)
    loop.add_signal_handler(signal.SIGUSR2, recover)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print(json.dumps({"url": fake.url}), flush=True)
    await stop.wait()
    await fake.close()
    kinds = [kind for kind, _ in fake.calls]
    return {
        "voices": kinds.count("DescribeVoices"),
        "speech": kinds.count("SynthesizeSpeech"),
        "spoken": len(fake.spoken),
        "refused": refused,
    }


def main() -> int:
    print(json.dumps(asyncio.run(run())), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

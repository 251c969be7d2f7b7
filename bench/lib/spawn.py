"""Child processes of the benchmark: the server under test and load generators.

Every child is started by this module and stopped by its PID (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for children: the repository importable, nothing else changed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if "PYTHONPATH" in env else "")
    env.update(extra or {})
    return env


async def stop(proc: asyncio.subprocess.Process, wait_s: float = 15.0) -> None:
    """SIGTERM ``proc`` (by its PID), then SIGKILL if it does not exit."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), wait_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        await proc.wait()


@contextlib.asynccontextmanager
async def server_process(
    args: list[str], env: Mapping[str, str] | None = None, module: str = "bench.procs.serve"
) -> AsyncIterator[tuple[asyncio.subprocess.Process, int]]:
    """Run ``python -m module ARGS`` until it prints ``READY <port>``; yield (process, port)."""
    proc = await asyncio.create_subprocess_exec(
        PYTHON, "-m", module, *args, stdout=asyncio.subprocess.PIPE, env=child_env(env), cwd=ROOT
    )
    try:
        assert proc.stdout is not None
        while True:
            line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
            if not line:
                raise RuntimeError(f"{module} {args} exited before it was ready")
            if line.startswith("READY "):
                break
        yield proc, int(line.split()[1])
    finally:
        await stop(proc)


async def run_json(args: list[str], limit_s: float, env: Mapping[str, str] | None = None) -> Any:
    """Run ``python ARGS`` and return the JSON its last stdout line holds."""
    proc = await asyncio.create_subprocess_exec(
        PYTHON, *args, stdout=asyncio.subprocess.PIPE, env=child_env(env), cwd=ROOT
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), limit_s)
    finally:
        await stop(proc)
    lines = out.decode().strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(args[:3])} failed with exit code {proc.returncode}")
    return json.loads(lines[-1])


@contextlib.asynccontextmanager
async def listening_process(
    args: list[str],
    port: int,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    wait_s: float = 60.0,
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run ``python ARGS`` (its stderr to ``log_path``) until 127.0.0.1:``port`` accepts
    connections; yield the process; stop it by its PID."""
    with log_path.open("ab") as log_file:
        proc = await asyncio.create_subprocess_exec(
            PYTHON, *args, stdout=asyncio.subprocess.DEVNULL, stderr=log_file,
            env=child_env(env), cwd=ROOT,
        )  # fmt: skip
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while True:
            if proc.returncode is not None:
                raise RuntimeError(f"{' '.join(args[:4])} exited: see {log_path}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError as exc:
                if loop.time() > deadline:
                    what = " ".join(args[:4])
                    raise RuntimeError(f"{what} not listening after {wait_s} s") from exc
                await asyncio.sleep(0.2)
                continue
            writer.close()
            break
        yield proc
    finally:
        await stop(proc)

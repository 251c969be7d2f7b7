"""``edge-server hub`` as a process: refused settings at start, and a Redis that refuses its
password or cannot be reached: a clear error in the log and on the overview, the password
nowhere."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers.redis_server import RedisServer, free_port


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_SERVER_")}
    return env | extra


def test_a_hub_without_redis_or_with_a_bad_address_stops_with_a_named_error() -> None:
    command = [sys.executable, "-m", "edge_server.cli", "hub"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=30, env=_env({}))
    assert out.returncode == 2
    assert "no Redis to serve from (--redis URL or EDGE_SERVER_HUB_REDIS)" in out.stderr
    out = subprocess.run(
        [*command, "--redis", "http://:hunter2-secret@redis:6379/0"],
        capture_output=True, text=True, timeout=30, env=_env({}),
    )  # fmt: skip
    assert out.returncode == 2
    assert "hub_redis: 'http://:***@redis:6379/0' must start with redis://" in out.stderr
    assert "hunter2-secret" not in out.stderr


def _get(url: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize("case", ["wrong password", "unreachable"])
def test_a_bad_redis_at_start_is_a_clear_error_in_the_log_and_on_the_overview(
    redis_server: RedisServer, tmp_path: Path, case: str
) -> None:
    if case == "wrong password":
        secret = "wrong-password-xyz"
        url, reason = redis_server.url_with(secret), "wrong password or user refused by Redis"
    else:
        secret = "unreachable-pw-xyz"
        url, reason = f"redis://:{secret}@127.0.0.1:{free_port()}/0", "cannot reach Redis"
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge_server.cli", "hub", "--host", "127.0.0.1", "--port",
         str(port)],
        stderr=subprocess.PIPE, text=True,
        env=_env({"EDGE_SERVER_HUB_REDIS": url}),
    )  # fmt: skip
    try:
        page = _get(f"http://127.0.0.1:{port}/")
        deadline = time.monotonic() + 30
        while reason not in page and time.monotonic() < deadline:
            time.sleep(0.5)
            page = _get(f"http://127.0.0.1:{port}/")
        assert f"Redis: {reason}" in page
        assert "No rooms yet" in page
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert f"cannot read the conference from Redis: {reason}" in err
    assert "redis://:***@127.0.0.1" in err
    assert secret not in err
    assert secret not in page

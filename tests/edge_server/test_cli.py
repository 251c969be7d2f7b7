"""What `edge-server` says at start about its tokens: open roles are named, secrets never
appear in its output, and unusable tokens stop it with exit 2."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.faults.helpers import free_port

AUDIO = "audio-secret-0123456789"
ADMIN = "admin-secret-0123456789"


def _start(tmp_path: Path, env: dict[str, str]) -> str:
    """Start the server, wait until it listens, stop it with SIGTERM; return its stderr."""
    port = free_port()
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_SERVER_")}
    child_env.update(env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge_server.cli", "serve", "--port", str(port),
         "--state-dir", str(tmp_path / "state"), "--no-fsync"],
        stderr=subprocess.PIPE, text=True, env=child_env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    return err


def test_no_tokens_the_server_says_everything_is_open(tmp_path: Path) -> None:
    err = _start(tmp_path, {})
    assert "no token set for audio, listener, admin" in err


def test_tokens_are_never_printed(tmp_path: Path) -> None:
    err = _start(tmp_path, {"EDGE_SERVER_AUDIO_TOKEN": AUDIO, "EDGE_SERVER_ADMIN_TOKEN": ADMIN})
    assert "no token set for listener:" in err  # only the missing one is named
    assert AUDIO not in err
    assert ADMIN not in err


def test_unusable_token_stops_the_server(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "edge_server.cli", "serve", "--state-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=30,
        env=os.environ | {"EDGE_SERVER_AUDIO_TOKEN": "short"},
    )  # fmt: skip
    assert out.returncode == 2
    assert "the audio token must be 16-512 characters" in out.stderr
    assert "short" not in out.stderr.replace("shorter", "")

"""CPU used by ``edge-audio run`` capturing 48 kHz stereo and streaming 16 kHz mono.

    .venv/bin/python bench/standalone/edge_audio_cpu.py [--seconds 20] [--quota 0.2]

Starts a private PipeWire (as the test suite does: tests/helpers/pipewire_session.py), a null sink
whose monitor is captured (48 kHz, 2 channels) while LibriVox speech plays into it with
``paplay``, a local ``edge-server`` (its own process, not measured), and ``edge-audio run`` as
a child process configured by an environment file, exactly as systemd would run it. Once audio
flows (``READY=1`` on a notify socket) the child's CPU time is read from ``/proc/<pid>/stat``
(user + system, all threads) over ``--seconds`` of streaming, as a percentage of one core.
Its resident memory (``VmRSS``, and the peak ``VmHWM``) is read at the end. Meanwhile the
server's count of audio seconds received is read twice a second (``/healthz``): audio the node
failed to capture never arrives, so received audio falling behind the wall clock is audio
dropped (:mod:`bench.lib.continuity`). With ``--quota`` the node runs in a cgroup CPU quota of
that share of one core (:class:`bench.lib.cpuquota.CpuQuota`, as on one Raspberry Pi core;
PipeWire and the server stay outside it) and the quota's CPU use and throttling are read too.
Results are printed and written to ``bench/results/edge_audio_cpu.json``. Target: below 2 %
(unlimited).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.lib.continuity import continuity  # noqa: E402
from bench.lib.cpuquota import CpuQuota, budget_use  # noqa: E402
from tests.helpers.pipewire_session import (  # noqa: E402
    PipeWireSession,
    free_port,
    stop_child,
    write_speech,
)

RESULTS = ROOT / "bench" / "results" / "edge_audio_cpu.json"
TARGET_PERCENT = 2.0
SINK = "edge_bench_feed"
READING_S = 0.5
"""How often the server's received-audio count is read."""


def librivox() -> list[Path]:
    """The LibriVox recordings (fetched by scripts/fetch-speech.sh when missing)."""
    folder = Path(os.environ.get("LIBRIVOX_DIR", ROOT / ".cache" / "speech" / "librivox"))
    if not (folder / "fileids").exists():
        out = subprocess.run(
            [str(ROOT / "scripts" / "fetch-speech.sh")], check=True, capture_output=True, text=True
        )
        folder = Path(out.stdout.strip())
    return [folder / f"{name}.wav" for name in (folder / "fileids").read_text().split()]


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of process ``pid`` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    clock = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / clock, int(fields[12]) / clock


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of each thread of ``pid``, by ``name:tid``."""
    clock = os.sysconf("SC_CLK_TCK")
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[f"{name}:{task.name}"] = (int(fields[11]) + int(fields[12])) / clock
    return found


def _status_mb(pid: int, key: str) -> float:
    """A memory figure of ``pid`` from ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: timed out waiting for {what}")
        time.sleep(0.05)


def healthz(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
        data: dict[str, Any] = json.load(response)
        return data


def run(seconds: float, quota: float | None = None) -> dict[str, Any]:
    """Measure ``edge-audio run`` over ``seconds`` of streaming (under ``quota`` of one core
    when given); the figures as a dict."""
    with contextlib.ExitStack() as stack:
        group = None if quota is None else stack.enter_context(CpuQuota(quota, "edge-bench-audio"))
        return _run(seconds, group)


def _run(seconds: float, group: CpuQuota | None) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="edge-audio-bench-"))
    pw = PipeWireSession().start()
    procs: list[subprocess.Popen[bytes]] = []
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        pw.null_sink(SINK, "Browser playing a remote talk", channels=2)
        speech = tmp / "speech.wav"
        files = librivox()
        # Long enough to play throughout (the talk repeated), so the node hears speech all along.
        repeat = max(1, int((seconds + 30) // 25) + 1)
        talk_s = write_speech(speech, files * repeat, pause_s=0.3)
        port = free_port()
        server = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "edge-server"), "serve", "--port", str(port),
             "--state-dir", str(tmp / "state"), "--no-fsync"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        procs.append(server)
        wait_for(lambda: _answers(port), 20, "edge-server")
        env_file = tmp / "edge-audio.env"
        env_file.write_text(
            f"EDGE_AUDIO_SERVER=http://127.0.0.1:{port}\nEDGE_AUDIO_ROOM=bench\n"
            f"EDGE_AUDIO_LANG=en-US\nEDGE_AUDIO_DEVICE=monitor:{SINK}\n"
        )
        notify_path = str(tmp / "notify")
        notify.bind(notify_path)
        notify.settimeout(90)
        node_log = (tmp / "edge-audio.log").open("wb")
        node = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "edge-audio"), "run", "--env-file", str(env_file),
             "--log-level", "WARNING"],
            env={**pw.env, "NOTIFY_SOCKET": notify_path}, stderr=node_log,
        )  # fmt: skip
        node_log.close()
        procs.append(node)
        if group is not None:
            group.add(node.pid)
        while b"READY=1" not in notify.recv(4096):
            pass
        threading.Thread(target=_drain, args=(notify,), daemon=True).start()  # as systemd reads
        player = pw.play(SINK, speech)
        time.sleep(2.0)  # warm-up: speech flowing, recognizer busy
        wall0, cpu0, threads0 = time.monotonic(), cpu_seconds(node.pid), thread_cpu(node.pid)
        quota0 = group.stats() if group else None
        readings = [(wall0, _received(port))]
        while (now := time.monotonic()) < wall0 + seconds:
            time.sleep(min(READING_S, wall0 + seconds - now))
            readings.append((time.monotonic(), _received(port)))
        wall1, cpu1, threads1 = time.monotonic(), cpu_seconds(node.pid), thread_cpu(node.pid)
        quota1 = group.stats() if group else None
        per_thread = {
            name: round(100.0 * (used - threads0.get(name, 0.0)) / (wall1 - wall0), 2)
            for name, used in threads1.items()
        }
        room = healthz(port)["rooms"]["bench"]
        elapsed = wall1 - wall0
        user, system = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
        percent = 100.0 * (user + system) / elapsed
        result = {
            "benchmark": "edge-audio run: PipeWire null-sink monitor, 48 kHz stereo -> 16 kHz mono",
            "cpu_percent_of_one_core": round(percent, 2),
            "target_percent": TARGET_PERCENT,
            "ok": percent < TARGET_PERCENT,
            "measured_s": round(wall1 - wall0, 2),
            "cpu_s": round(user + system, 3),
            "user_percent": round(100.0 * user / elapsed, 2),
            "system_percent": round(100.0 * system / elapsed, 2),
            "audio_streamed_s": round(readings[-1][1] - readings[0][1], 1),
            "continuity": continuity(readings),
            "gaps_reported": room["source"].get("gaps"),
            "dropped_s_reported": room["source"].get("dropped_s"),
            "rss_mb": round(_status_mb(node.pid, "VmRSS"), 1),
            "peak_rss_mb": round(_status_mb(node.pid, "VmHWM"), 1),
            "percent_by_thread": dict(sorted(per_thread.items(), key=lambda kv: -kv[1])),
            "device": room["source"].get("device"),
            "speech_s": round(talk_s, 1),
            "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        if group is not None and quota0 is not None and quota1 is not None:
            result["quota"] = budget_use(quota0, quota1, group.fraction, elapsed)
        player.terminate()
        node.send_signal(signal.SIGTERM)
        result["exit_code"] = node.wait(30)
        result["node_warnings"] = (tmp / "edge-audio.log").read_text(errors="replace").splitlines()
        return result
    finally:
        for proc in reversed(procs):
            stop_child(proc)
        notify.close()
        pw.stop()
        subprocess.run(["rm", "-rf", str(tmp)], check=False)


def _drain(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while sock.recv(4096):
            pass


def _received(port: int) -> float:
    """Seconds of audio the server has received from the node's current connection."""
    source = healthz(port)["rooms"]["bench"]["source"]
    return float(source["audio_seconds"]) if source else 0.0


def _answers(port: int) -> bool:
    try:
        healthz(port)
    except OSError:
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured period")
    parser.add_argument(
        "--quota", type=float, default=None, help="CPU quota, share of one core (needs root)"
    )
    args = parser.parse_args()
    result = run(args.seconds, args.quota)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    verdict = "below" if result["ok"] else "ABOVE"
    print(
        f"edge-audio run: {result['cpu_percent_of_one_core']:.2f} % of one core over "
        f"{result['measured_s']:.0f} s ({result['audio_streamed_s']:.0f} s of audio streamed "
        f"from {result['device']}), {verdict} the {TARGET_PERCENT:g} % target; "
        f"written to {RESULTS.relative_to(ROOT)}"
    )
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

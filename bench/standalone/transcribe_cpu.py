"""CPU and latency of a Transcribe stream: the SDK used plainly vs. this project's adapter.

    .venv/bin/python bench/standalone/transcribe_cpu.py [--seconds 20]

One run starts a local HTTP/2 + TLS Transcribe fake (tests/fakes) in this process, then, one
after the other, two child processes stream 100 ms frames in real time to it:

- ``plain``: the ``amazon-transcribe`` client as the reference projects use it (static endpoint
  and credentials; only its TLS context is replaced so it trusts the fake's test CA);
- ``adapter``: :class:`edge_server.engines.transcribe.recognizer.TranscribeRecognizer`.

Each client's CPU is read from ``/proc/<child pid>/stat`` (user + system time of all its
threads) over the streaming period only, so the fake and the other client are not counted.
Latency is, per transcript event, the time from the fake handing the event to its socket to
the client yielding it (``time.monotonic`` is one clock for all processes). Results are printed
and written to ``bench/results/transcribe_cpu.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from edge_server.engines.transcribe.options import TranscribeOptions  # noqa: E402
from tests.fakes.tls import make_ca  # noqa: E402
from tests.fakes.transcribe_fake import RecordedStream, TranscribeFake  # noqa: E402

FRAME_S = 0.1
RESULTS = ROOT / "bench" / "results" / "transcribe_cpu.json"
SCRIPT = str(Path(__file__).resolve())
CPU_TARGET = 3.0
LATENCY_TARGET_MS = 20.0


def frame(index: int) -> bytes:
    """100 ms of loud "speech" whose first sample names the frame (see transcribe_model)."""
    return struct.pack("<h", index % 32000 + 1) + struct.pack("<h", 8000) * 1599


# --- child side -------------------------------------------------------------------------------


async def _stream_frames(send: Any, seconds: float) -> None:
    start = time.monotonic()
    for index in range(int(seconds / FRAME_S)):
        await send(frame(index))
        delay = start + (index + 1) * FRAME_S - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


def _thread_cpu() -> dict[str, float]:
    """CPU seconds of each thread of this process, by ``name:tid``."""
    clock = os.sysconf("SC_CLK_TCK")
    found = {}
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            found[f"{name}:{task.name}"] = (int(fields[11]) + int(fields[12])) / clock
    return found


def _emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


async def child_plain(url: str, ca_file: str, seconds: float, wait_ms: float) -> None:
    """The SDK as the reference projects use it."""
    from amazon_transcribe.auth import StaticCredentialResolver
    from amazon_transcribe.client import TranscribeStreamingClient
    from amazon_transcribe.endpoints import StaticEndpointResolver
    from awscrt import io

    client = TranscribeStreamingClient(
        region="us-east-1",
        endpoint_resolver=StaticEndpointResolver(url),
        credential_resolver=StaticCredentialResolver("AKIDBENCH", "bench-secret"),
    )
    tls = io.TlsContextOptions()
    tls.override_default_trust_store_from_path(None, ca_file)
    client._session_manager._tls_ctx = io.ClientTlsContext(tls)  # the fake's CA, nothing else
    stream = await asyncio.wait_for(
        client.start_stream_transcription(
            language_code="en-US",
            media_sample_rate_hz=16000,
            media_encoding="pcm",
            enable_partial_results_stabilization=True,
            partial_results_stability="high",
        ),
        10,
    )
    yields: list[tuple[str, bool, float]] = []

    async def read() -> None:
        async for event in stream.output_stream:
            for result in event.transcript.results:
                text = result.alternatives[0].transcript
                yields.append((text, bool(result.is_partial), time.monotonic()))

    reader = asyncio.create_task(read())
    _emit({"phase": "streaming", "threads": _thread_cpu()})
    await _stream_frames(stream.input_stream.send_audio_event, seconds)
    _emit({"phase": "done", "threads": _thread_cpu()})
    await stream.input_stream.end_stream()
    await asyncio.wait_for(reader, 10)
    _emit({"phase": "results", "yields": yields})


async def child_adapter(url: str, ca_file: str, seconds: float, wait_ms: float) -> None:
    """This project's recognizer."""
    os.environ.update(AWS_ACCESS_KEY_ID="AKIDBENCH", AWS_SECRET_ACCESS_KEY="bench-secret")
    from edge_server.engines.transcribe.recognizer import TranscribeRecognizer

    recognizer = TranscribeRecognizer(
        TranscribeOptions(
            region="us-east-1", endpoint_url=url, ca_bundle=ca_file, body_wait_s=wait_ms / 1000
        )
    )
    stream = await asyncio.wait_for(recognizer.open_stream("en-US"), 10)
    yields: list[tuple[str, bool, float]] = []

    async def read() -> None:
        async for hyp in stream.results():
            yields.append((hyp.text, not hyp.is_final, time.monotonic()))

    reader = asyncio.create_task(read())
    _emit({"phase": "streaming", "threads": _thread_cpu()})
    await _stream_frames(stream.send_audio, seconds)
    _emit({"phase": "done", "threads": _thread_cpu()})
    body_reads = sum(leg.body.reads for leg in stream._all_legs)
    runtime_wakes = sum(leg.body.runtime_wakes for leg in stream._all_legs)
    runtime_fd = recognizer._client.runtime_fd if recognizer._client else None
    await stream.finish()
    await asyncio.wait_for(reader, 10)
    await recognizer.close()
    _emit(
        {
            "phase": "results",
            "yields": yields,
            "body_reads": body_reads,
            "runtime_wakes": runtime_wakes,
            "runtime_fd_found": runtime_fd is not None,
        }
    )


# --- parent side ------------------------------------------------------------------------------


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _latencies(records: list[RecordedStream], yields: list[list[Any]]) -> list[float]:
    emitted: dict[tuple[str, bool], float] = {}
    for record in records:
        for event in record.emitted:
            emitted.setdefault((event.text, event.is_partial), event.at)
    found = []
    for text, is_partial, at in yields:
        sent = emitted.get((text, bool(is_partial)))
        if sent is not None:
            found.append((at - sent) * 1000.0)
    return found


async def run_child(
    mode: str, fake: TranscribeFake, ca_file: Path, seconds: float, wait_ms: float
) -> dict[str, Any]:
    """Run one client in a child process; its CPU and latencies."""
    before = len(fake.streams)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        SCRIPT,
        "--child",
        mode,
        fake.url,
        str(ca_file),
        str(seconds),
        str(wait_ms),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true"},
    )
    assert proc.stdout is not None
    clock = os.sysconf("SC_CLK_TCK")
    start_ticks = start_wall = end_ticks = end_wall = 0.0
    result: dict[str, Any] = {}
    threads: dict[str, dict[str, float]] = {}
    while line := await asyncio.wait_for(proc.stdout.readline(), seconds + 60):
        message = json.loads(line)
        if message["phase"] == "streaming":
            start_ticks, start_wall = _cpu_ticks(proc.pid), time.monotonic()
            threads["start"] = message["threads"]
        elif message["phase"] == "done":
            end_ticks, end_wall = _cpu_ticks(proc.pid), time.monotonic()
            threads["end"] = message["threads"]
        else:
            result = message
    await asyncio.wait_for(proc.wait(), 30)
    cpu = (end_ticks - start_ticks) / clock / (end_wall - start_wall) * 100.0
    latencies = _latencies(fake.streams[before:], result.get("yields", []))
    summary: dict[str, Any] = {
        "cpu_percent_of_one_core": round(cpu, 2),
        "streamed_s": round(end_wall - start_wall, 2),
        "events": len(latencies),
        "latency_ms_p50": round(statistics.median(latencies), 2) if latencies else None,
        "latency_ms_p99": round(_percentile(latencies, 0.99), 2) if latencies else None,
        "latency_ms_max": round(max(latencies), 2) if latencies else None,
    }
    wall = end_wall - start_wall
    summary["threads_percent"] = {
        name: round((cpu_s - threads["start"].get(name, 0.0)) / wall * 100.0, 2)
        for name, cpu_s in threads["end"].items()
        if cpu_s - threads["start"].get(name, 0.0) > 0
    }
    if "body_reads" in result:
        summary["body_reads_per_s"] = round(result["body_reads"] / wall, 1)
        summary["body_runtime_wakes_per_s"] = round(result["runtime_wakes"] / wall, 1)
        summary["runtime_fd_found"] = result["runtime_fd_found"]
    return summary


async def main_parent(seconds: float, wait_ms: float) -> dict[str, Any]:
    """Both clients against one fake; the figures side by side."""
    with tempfile.TemporaryDirectory() as folder:
        ca = make_ca(Path(folder))
        async with TranscribeFake(ca, max_words=10) as fake:
            plain = await run_child("plain", fake, ca.ca_file, seconds, wait_ms)
            adapter = await run_child("adapter", fake, ca.ca_file, seconds, wait_ms)
    report = {
        "seconds": seconds,
        "frame_ms": FRAME_S * 1000,
        "adapter_body_wait_ms": wait_ms,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "plain_sdk": plain,
        "adapter": adapter,
        "added_latency_ms_p50": adapter["latency_ms_p50"],
        "added_latency_ms_p99": adapter["latency_ms_p99"],
        "added_latency_vs_plain_ms_p50": _difference(adapter, plain, "latency_ms_p50"),
        "added_latency_vs_plain_ms_p99": _difference(adapter, plain, "latency_ms_p99"),
        "targets": {"adapter_cpu_percent": CPU_TARGET, "added_latency_ms_p99": LATENCY_TARGET_MS},
    }
    report["meets_targets"] = bool(
        adapter["cpu_percent_of_one_core"] <= CPU_TARGET
        and adapter["latency_ms_p99"] is not None
        and adapter["latency_ms_p99"] <= LATENCY_TARGET_MS
    )
    return report


def _difference(a: dict[str, Any], b: dict[str, Any], key: str) -> float | None:
    if a.get(key) is None or b.get(key) is None:
        return None
    return round(a[key] - b[key], 2)


def main() -> None:
    """Command line: the parent run, or (internally) one child."""
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, url, ca_file = sys.argv[2], sys.argv[3], sys.argv[4]
        seconds, wait_ms = float(sys.argv[5]), float(sys.argv[6])
        runner = child_plain if mode == "plain" else child_adapter
        asyncio.run(runner(url, ca_file, seconds, wait_ms))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="streaming time per client")
    parser.add_argument(
        "--body-wait-ms",
        type=float,
        default=TranscribeOptions().body_wait_s * 1000,
        help="the adapter's body_wait_s, in ms (default: the adapter's default)",
    )
    args = parser.parse_args()
    if args.seconds < 1:
        parser.error("--seconds must be at least 1")
    report = asyncio.run(main_parent(args.seconds, args.body_wait_ms))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    plain, adapter = report["plain_sdk"], report["adapter"]
    print(f"streamed {args.seconds:g} s of 100 ms frames in real time per client")
    print(f"{'':24}{'plain SDK':>12}{'adapter':>12}")
    print(
        f"{'CPU, % of one core':24}{plain['cpu_percent_of_one_core']:>12}"
        f"{adapter['cpu_percent_of_one_core']:>12}"
    )
    for key, label in (("latency_ms_p50", "event latency p50 ms"), ("latency_ms_p99", "p99 ms")):
        print(f"{label:24}{plain[key]!s:>12}{adapter[key]!s:>12}")
    print(f"{'events matched':24}{plain['events']:>12}{adapter['events']:>12}")
    print(
        f"adapter added latency (fake -> stream yield): p50 {report['added_latency_ms_p50']} ms, "
        f"p99 {report['added_latency_ms_p99']} ms; targets: CPU <= {CPU_TARGET} %, "
        f"p99 <= {LATENCY_TARGET_MS} ms: {'met' if report['meets_targets'] else 'NOT met'}"
    )
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

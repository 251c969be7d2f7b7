"""The room on a 64-bit Raspberry Pi OS: an arm64 Debian 13 root under qemu, provisioned from the
offline bundle with its network unusable, and speech recognized there.

``arm64`` tests (root, debootstrap and qemu-user-static's binfmt handler needed; skipped, saying
so, without them):

- the bundle is built as ``make bundle`` builds it (``python -m scripts.offline_bundle build``);
- a fresh arm64 root (the base is a cached tarball under ``.cache/arm64/``) gets a network that
  cannot work: no resolver, apt sources pointing at nothing, pip's index at a closed port, and
  every Ansible command run in a network namespace of its own (``unshare --net chroot``);
- bundles that must be refused are refused by the preflight, naming what is wrong, and the root
  stays untouched: one missing a locked requirement's wheel, one for another architecture;
- ``site.yml -e offline_bundle=...`` converges the audio node; with ``EDGE_ARM64_FULL=1``
  (``make test-arm64``) the display node too, and then both again, which must change nothing.
  ``make test`` (CI) runs the smaller case, one converge of the audio node: every Ansible task
  is an emulated Python process (about 8 s each), so the full case takes too long for CI;
- inside the root: the units pass ``systemd-analyze verify``, the root's own venv runs
  ``edge-server --version`` and ``edge-audio devices --json``, and a LibriVox clip streamed by
  the root's ``edge-audio stream-file`` into the root's ``edge-server`` comes back as words,
  reported next to what the same clip gives on this machine.

The audio node's converge (about 7 minutes of emulated Ansible tasks and package scripts, most
of this module's time) is cached for ``make test`` in ``.cache/arm64/converged/``: the converged
root and the run's output, keyed on everything that can change them (the bundle's manifest,
which names every wheel, ``.deb`` and the project's wheel by sha256; the base root; every file
of ``ansible/``, ``scripts/offline_bundle/`` and ``tests/appliance/``; ``uv.lock``,
``pyproject.toml``; qemu's version; the playbook's arguments). When none changed since a
converge that succeeded, the root is restored from it (the report says so, with its date) and
every test below runs against it as against a fresh one; any change converges afresh.
``EDGE_ARM64_FRESH=1``, ``scripts/test-arm64.sh --cold`` and ``make test-arm64``
(``EDGE_ARM64_FULL=1``) always converge. The refused bundles are always tried for real.

Timings and texts go to ``.cache/arm64/report.txt``; logs to ``.cache/arm64/logs/``.
``EDGE_APPLIANCE_KEEP=1`` keeps the roots.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jiwer
import pytest

from scripts.offline_bundle.build import BuildOptions, build
from scripts.offline_bundle.manifest import MANIFEST, REQUIREMENTS, parse_manifest
from tests.appliance.rootfs import RootFs, base_tarball, host_debian_mirror, prepared_roots
from tests.appliance.test_appliance import (
    AUDIO_HOST,
    DISPLAY_HOST,
    ROOM,
    SYSTEMD_PYTHON_ORIGIN,
    VENV_BIN,
    VERSION,
    Run,
    _free_port,
    _inventory,
    _playbook,
    _verify_in_root,
)
from tests.appliance.units import parse_recap
from tests.helpers.paths import ROOT

CACHE = ROOT / ".cache" / "arm64"
ARM64_TIMEOUT_S = 5400
FULL = os.environ.get("EDGE_ARM64_FULL") == "1"
FRESH = FULL or os.environ.get("EDGE_ARM64_FRESH") == "1"
"""Converge even when a cached converge has the same inputs (``make test-arm64`` always)."""
CONVERGED = CACHE / "converged"
# What a converge depends on besides the bundle and the base root (files, recursively).
CONVERGE_INPUTS = ("ansible", "scripts/offline_bundle", "tests/appliance", "uv.lock",
                   "pyproject.toml")  # fmt: skip
CLIP = "sense_and_sensibility_01_austen_64kb-0870"
DROPPED_WHEEL = "numpy-2.5.5-cp313"
OFFLINE_SOURCES = "deb http://127.0.0.1:9/debian trixie main\n"
OFFLINE_PIP = "[global]\nindex-url = http://127.0.0.1:9/simple\n"
# The CPU qemu emulates: a Raspberry Pi 4's (Cortex-A72, ARMv8.0), not qemu's default "max",
# whose pointer authentication (Debian builds with branch protection) makes every process 3 to
# 6 times slower here, and whose newer instructions a Pi 4 does not have.
QEMU_ENV = {"QEMU_CPU": "cortex-a72"}

pytestmark = [pytest.mark.arm64, pytest.mark.timeout(ARM64_TIMEOUT_S)]


def report(config: pytest.Config, text: str) -> None:
    """Print ``text`` past pytest's capture and append it to .cache/arm64/report.txt."""
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():
            print(f"\n{text}", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "report.txt", "a") as out:
        out.write(text + "\n")


def _binfmt_ready() -> str | None:
    """Make sure arm64 binaries run here through qemu (as the env notes say); None when they
    do, else why not."""
    if shutil.which("qemu-aarch64-static") is None:
        return "qemu-user-static is missing (scripts/setup-system.sh test installs it)"
    register = Path("/proc/sys/fs/binfmt_misc/register")
    if not register.exists():
        done = subprocess.run(
            ["mount", "-t", "binfmt_misc", "binfmt_misc", str(register.parent)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return f"cannot mount binfmt_misc: {done.stderr.strip()}"
    if not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
        subprocess.run(
            ["update-binfmts", "--enable", "qemu-aarch64"], capture_output=True, check=False
        )
    handler = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")
    if not handler.exists() or "enabled" not in handler.read_text():
        return "the qemu-aarch64 binfmt handler is not enabled (update-binfmts --enable)"
    return None


def _rewrite_bundle(source: Path, target: Path, drop: str | None, machine: str | None) -> None:
    """A copy of the bundle without the wheel whose name starts with ``drop`` (its manifest
    made consistent: a builder that left it out), or claiming another ``machine``: then only
    its manifest and requirements (the preflight refuses on the manifest's architecture before
    it looks at any file; 400 MB less to write)."""
    with tarfile.open(source) as src, tarfile.open(target, "w") as out:
        members = src.getmembers()
        manifest = json.loads(src.extractfile(MANIFEST).read())  # type: ignore[union-attr]
        if drop is not None:
            manifest["files"] = {
                k: v for k, v in manifest["files"].items() if not k.startswith(f"wheels/{drop}")
            }
        if machine is not None:
            manifest["machine"], manifest["debian_arch"] = machine, "amd64"
            manifest["files"] = {k: v for k, v in manifest["files"].items() if k == REQUIREMENTS}
            members = [m for m in members if m.name in (MANIFEST, REQUIREMENTS)]
        text = json.dumps(manifest, indent=1).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(text)
        out.addfile(info, io.BytesIO(text))
        for member in members:
            if member.name == MANIFEST:
                continue
            if drop is not None and member.name.startswith(f"wheels/{drop}"):
                continue
            out.addfile(member, src.extractfile(member) if member.isfile() else None)


def _make_offline(root: RootFs) -> None:
    """No resolver, apt sources pointing at nothing, pip's index at a closed local port."""
    etc = root.path / "etc"
    (etc / "resolv.conf").unlink(missing_ok=True)
    (etc / "resolv.conf").write_text("# the converge test: no resolver\n")
    for old in (etc / "apt").glob("sources.list.d/*"):
        old.unlink()
    (etc / "apt/sources.list").write_text(OFFLINE_SOURCES)
    (etc / "pip.conf").write_text(OFFLINE_PIP)


def _fingerprint(root: RootFs) -> dict[str, str]:
    """What a refused bundle must leave as it was: dpkg's database and the folders the
    playbook would create."""
    status = (root.path / "var/lib/dpkg/status").read_bytes()
    return {
        "dpkg": hashlib.sha256(status).hexdigest(),
        "opt": " ".join(sorted(p.name for p in (root.path / "opt").iterdir())),
        "bundle": str((root.path / "var/cache/edge-bundle").exists()),
        "users": str("edge-audio" in (root.path / "etc/passwd").read_text()),
    }


@dataclass
class Arm64Rooms:
    """The arm64 roots, the bundles and what the runs did."""

    audio: RootFs
    display: RootFs
    bundle: Path
    runs: dict[str, Run] = field(default_factory=dict)
    untouched: dict[str, bool] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


@pytest.fixture(scope="module")
def arm64(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Arm64Rooms]:
    """Bundles built, refused ones tried, the good one converged twice into fresh arm64 roots."""
    if os.geteuid() != 0:
        pytest.skip("the arm64 converge needs root (debootstrap, chroot, binfmt_misc)")
    if shutil.which("debootstrap") is None or shutil.which("unshare") is None:
        pytest.skip("the arm64 converge needs debootstrap (scripts/setup-system.sh test)")
    why = _binfmt_ready()
    if why is not None:
        pytest.skip(f"arm64 binaries cannot run here: {why}")
    mirror = host_debian_mirror()
    if mirror is None:
        pytest.fail("no Debian mirror in /etc/apt/sources.list{,.d}: set EDGE_APPLIANCE_MIRROR")
    (CACHE / "report.txt").unlink(missing_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in QEMU_ENV.items():  # debootstrap's second stage, ansible's chroots
            patch.setenv(name, value)
        yield from _converged(pytestconfig, tmp_path_factory, mirror)


def _converged(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory, mirror: str
) -> Iterator[Arm64Rooms]:
    notes: list[str] = []
    seconds: dict[str, float] = {}
    started = time.monotonic()
    tarball = base_tarball(CACHE, mirror, notes, arch="arm64")
    seconds["base root"] = time.monotonic() - started
    work = tmp_path_factory.mktemp("arm64")
    started = time.monotonic()
    bundle = build(BuildOptions(out=work / "dist", work=ROOT / ".cache" / "bundle", mirror=mirror))
    seconds["bundle build"] = time.monotonic() - started
    incomplete, wrong_arch = work / "incomplete.tar", work / "wrong-arch.tar"
    _rewrite_bundle(bundle, incomplete, drop=DROPPED_WHEEL, machine=None)
    _rewrite_bundle(bundle, wrong_arch, drop=None, machine="x86_64")
    chroot_offline = work / "chroot-offline"
    chroot_offline.write_text('#!/bin/sh\n# a network namespace of its own: no network at all\n'
                              'exec unshare --net chroot "$@"\n')  # fmt: skip
    chroot_offline.chmod(0o755)
    audio = RootFs((work / "audio").resolve(), tarball, {}, QEMU_ENV)
    display = RootFs((work / "display").resolve(), tarball, {}, QEMU_ENV)
    keep = os.environ.get("EDGE_APPLIANCE_KEEP") == "1"
    with prepared_roots([audio, display], keep=keep):
        for root in (audio, display):
            _make_offline(root)
        inventory = _inventory(work / "inventory", audio.path, display.path)
        logs = CACHE / "logs"
        shutil.rmtree(logs, ignore_errors=True)
        logs.mkdir(parents=True)
        # Pipelining: one emulated process per task instead of five (mkdir, copy, chmod, run,
        # remove), which roughly halves an emulated converge.
        offline = ("-e", f"ansible_chroot_exe={chroot_offline}", "-e", "ansible_pipelining=true")
        limit = () if FULL else ("--limit", AUDIO_HOST)
        result = Arm64Rooms(audio, display, bundle, seconds=seconds)
        before = {r.path.name: _fingerprint(r) for r in (audio, display)}
        for name, bad in (("incomplete", incomplete), ("wrong-arch", wrong_arch)):
            result.runs[name] = _playbook(
                name, inventory, logs, *offline, *limit, "-e", f"offline_bundle={bad}",
                expect_success=False,
            )  # fmt: skip
            result.untouched[name] = before == {
                r.path.name: _fingerprint(r) for r in (audio, display)
            }
        key = _converge_key(bundle, tarball, [*offline, *limit])
        cached = None if FRESH else _cached_converge(key, logs)
        if cached is not None:
            started = time.monotonic()
            audio.close(remove=True)  # the pristine root the refused bundles left untouched
            audio.tarball = CONVERGED / f"{key}.tar"
            audio.prepare()
            seconds["restore"] = time.monotonic() - started
            result.runs["first"] = cached
        for name in ("first", "second") if FULL else () if cached else ("first",):
            result.runs[name] = _playbook(
                name, inventory, logs, *offline, *limit, "-e", f"offline_bundle={bundle}"
            )
        if cached is None and not FULL:
            started = time.monotonic()
            _keep_converge(key, audio, result.runs["first"])
            seconds["keep"] = time.monotonic() - started
        size_mb = bundle.stat().st_size / 1e6
        lines = [
            f"arm64: base root {seconds['base root']:.1f} s ({'; '.join(notes)})",
            f"arm64: bundle {bundle.name} {size_mb:.0f} MB"
            f" built in {seconds['bundle build']:.1f} s",
        ]
        for run in result.runs.values():
            recap = ", ".join(
                f"{h} ok={r.ok} changed={r.changed} failed={r.failed}"
                for h, r in sorted(run.recap.items())
            )
            lines.append(f"arm64: {run.name} run {run.seconds} s (exit {run.returncode}): {recap}")
        if cached is not None:
            lines.append(
                f"arm64: first run: CACHED, inputs unchanged since that converge (key {key});"
                f" root restored in {seconds['restore']:.1f} s (EDGE_ARM64_FRESH=1 converges)"
            )
        elif "keep" in seconds:
            lines.append(f"arm64: converged root kept for the next run in {seconds['keep']:.1f} s")
        lines.append(f"arm64: nodes {'audio + display' if FULL else 'audio only'}; roots in {work}")
        report(pytestconfig, "\n".join(lines))
        try:
            yield result
        finally:  # 1.2 GB of archives: not for pytest's three kept temporary folders
            for archive in (incomplete, wrong_arch, bundle):
                archive.unlink(missing_ok=True)


def _converge_key(bundle: Path, tarball: Path, arguments: list[str]) -> str:
    """What the audio node's converge depends on, hashed: the bundle's manifest (the sha256
    of every file in it), the base root, the playbook, the preflight and the tests' helpers,
    the lock, qemu, the arguments (the temporary folders' names left out)."""
    digest = hashlib.sha256()
    with tarfile.open(bundle) as tar:
        digest.update(tar.extractfile(MANIFEST).read())  # type: ignore[union-attr]
    meta = tarball.with_suffix(".json")
    digest.update(meta.read_bytes() if meta.exists() else str(tarball.stat().st_mtime).encode())
    for top in CONVERGE_INPUTS:
        for path in sorted([ROOT / top] if (ROOT / top).is_file() else (ROOT / top).rglob("*")):
            parts = path.relative_to(ROOT).parts  # not __pycache__ nor tools' .caches
            if path.is_file() and not any(x == "__pycache__" or x[0] == "." for x in parts):
                digest.update(f"{path.relative_to(ROOT)}\0".encode())
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    qemu = subprocess.run(
        ["qemu-aarch64-static", "--version"], capture_output=True, text=True, check=False
    )
    digest.update(qemu.stdout.encode())
    digest.update(json.dumps([QEMU_ENV, [Path(a).name for a in arguments]]).encode())
    return digest.hexdigest()[:24]


def _cached_converge(key: str, logs: Path) -> Run | None:
    """The converge kept under ``key`` (its run, its log copied back to ``logs``), or None."""
    record, root = CONVERGED / f"{key}.json", CONVERGED / f"{key}.tar"
    if not (record.exists() and root.exists()):
        return None
    data = json.loads(record.read_text())
    log = logs / "first.log"
    log.write_text(data["output"])
    return Run(
        "first", data["seconds"], parse_recap(data["output"]), log, data["returncode"],
        data["output"],
    )  # fmt: skip


def _keep_converge(key: str, root: RootFs, run: Run) -> None:
    """Keep a converge that succeeded (the root as a tarball, without /proc, and the run),
    in place of any kept before."""
    if run.returncode != 0 or any(r.failed or r.unreachable for r in run.recap.values()):
        return
    CONVERGED.mkdir(parents=True, exist_ok=True)
    for old in CONVERGED.iterdir():
        old.unlink()
    partial = CONVERGED / f"{key}.tar.part"
    subprocess.run(
        ["tar", "-C", str(root.path), "--exclude=./proc/*", "-cf", str(partial), "."], check=True
    )
    os.replace(partial, CONVERGED / f"{key}.tar")
    record = {"seconds": run.seconds, "returncode": run.returncode, "output": run.output}
    (CONVERGED / f"{key}.json").write_text(json.dumps(record))


def _hosts() -> set[str]:
    return {AUDIO_HOST, DISPLAY_HOST} if FULL else {AUDIO_HOST}


def test_incomplete_bundle_is_refused_naming_the_wheel(arm64: Arm64Rooms) -> None:
    run = arm64.runs["incomplete"]
    assert run.returncode != 0
    assert "missing wheel: numpy==2.5.5 for Python 3.13 on aarch64" in run.output, run.log
    assert "nothing was changed there" in run.output
    assert arm64.untouched["incomplete"], "the refused bundle changed the root"


def test_wrong_architecture_bundle_is_refused(arm64: Arm64Rooms) -> None:
    run = arm64.runs["wrong-arch"]
    assert run.returncode != 0
    assert "wrong architecture: the bundle is for x86_64 (amd64), the Pi is aarch64" in run.output
    assert arm64.untouched["wrong-arch"], "the refused bundle changed the root"


def test_offline_converge_succeeds(arm64: Arm64Rooms) -> None:
    first = arm64.runs["first"]
    assert set(first.recap) == _hosts()
    assert all(r.failed == 0 and r.unreachable == 0 and r.changed > 0 for r in first.recap.values())


def test_offline_converge_twice_second_changes_nothing(arm64: Arm64Rooms) -> None:
    if not FULL:
        pytest.skip("the second emulated converge runs with EDGE_ARM64_FULL=1 (make test-arm64)")
    second = arm64.runs["second"]
    assert {h: r.changed for h, r in second.recap.items()} == dict.fromkeys(_hosts(), 0), (
        f"second run changed things: see {second.log}"
    )


def test_installed_from_the_bundle_only(arm64: Arm64Rooms) -> None:
    root = arm64.audio.path
    with tarfile.open(arm64.bundle) as tar:
        text = tar.extractfile(MANIFEST).read().decode()  # type: ignore[union-attr]
    manifest = parse_manifest(text)
    installed = (root / "opt/edge-captions/dist").iterdir()
    assert [p.name for p in installed] == [Path(manifest.project_wheel).name]
    # The root's own sources still point at nothing: whatever arrived came from the bundle.
    assert (root / "etc/apt/sources.list").read_text() == OFFLINE_SOURCES
    status = (root / "var/lib/dpkg/status").read_text()
    for package in ("pipewire", "libportaudio2", "espeak-ng", "python3-venv"):
        assert f"Package: {package}\nStatus: install ok installed" in status, package


@pytest.mark.parametrize("unit", ["edge-server", "edge-audio"])
def test_units_verified_inside_the_arm64_root(arm64: Arm64Rooms, unit: str) -> None:
    assert _verify_in_root(arm64.audio, unit) == ""


def test_kiosk_unit_verified_inside_the_arm64_root(arm64: Arm64Rooms) -> None:
    if not FULL:
        pytest.skip("the display node converges with EDGE_ARM64_FULL=1 (make test-arm64)")
    assert _verify_in_root(arm64.display, "edge-kiosk") == ""
    assert (arm64.display.path / "usr/bin/chromium").exists()


def test_root_venv_runs_the_project_on_aarch64(arm64: Arm64Rooms) -> None:
    venv = "/opt/edge-captions/venv/bin"
    machine = arm64.audio.run(
        [f"{venv}/python", "-c", "import platform; print(platform.machine())"]
    )
    assert machine.stdout.strip() == "aarch64", machine.stderr
    version = arm64.audio.run([f"{venv}/edge-server", "--version"])
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"edge-server {VERSION}"
    # systemd-python has no aarch64 wheel: the bundle carries Debian's python3-systemd and the
    # venv (no system site-packages) loads that build.
    found = arm64.audio.run([f"{venv}/python", "-c", SYSTEMD_PYTHON_ORIGIN])
    assert found.stdout.strip() == "/usr/lib/python3/dist-packages/systemd", found.stderr
    devices = arm64.audio.run([f"{venv}/edge-audio", "devices", "--json"], user="edge-audio")
    assert devices.returncode in (0, 1), devices.stderr
    ranking = json.loads(devices.stdout)
    assert ranking["pipewire"] is False
    assert isinstance(ranking["candidates"], list)


@contextlib.contextmanager
def _server(argv: list[str], port: int, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """Start edge-server; yield once /healthz answers; stop it by PID."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 600  # emulated start-up: a readiness wait, not a threshold
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5),
            ):
                break
            time.sleep(1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _captions(stdout: str) -> str:
    """The finals ``stream-file`` printed (``[START-END] words``), joined."""
    return " ".join(
        line.split("] ", 1)[1].strip() for line in stdout.splitlines() if line.startswith("[")
    )


def _recognize(argv_server: list[str], argv_audio: list[str], port: int) -> tuple[str, float]:
    env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8", "HOME": "/tmp", **QEMU_ENV}
    with _server(argv_server, port, env):
        started = time.monotonic()
        done = subprocess.run(argv_audio, capture_output=True, text=True, env=env, check=False)
        seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    return _captions(done.stdout), seconds


def test_speech_recognized_in_the_arm64_root(
    arm64: Arm64Rooms, pytestconfig: pytest.Config, librivox_dir: Path
) -> None:
    root = arm64.audio
    wav, reference = librivox_dir / f"{CLIP}.wav", (librivox_dir / f"{CLIP}.txt").read_text()
    inside = root.path / "tmp/edge-speech"
    inside.mkdir()
    inside.chmod(0o777)
    shutil.copy(wav, inside / wav.name)
    stream = [
        "stream-file",
        "--room",
        ROOM,
        "--lang",
        "en-US",
        "--speed",
        "0",
        "--log-level",
        "ERROR",
    ]
    try:
        port = _free_port()
        venv = "/opt/edge-captions/venv/bin"
        chroot = ["chroot", "--userspec=edge-server:edge-server", str(root.path)]
        arm_text, arm_s = _recognize(
            [*chroot, f"{venv}/edge-server", "serve",
             "--config", "/etc/edge-server/edge-server.toml", "--host", "127.0.0.1",
             "--port", str(port), "--state-dir", "/tmp/edge-speech/state"],
            [*chroot, f"{venv}/edge-audio", *stream, "--server", f"http://127.0.0.1:{port}",
             f"/tmp/edge-speech/{wav.name}"],
            port,
        )  # fmt: skip
        port = _free_port()
        state = inside / "x86-state"
        x86_text, x86_s = _recognize(
            [str(VENV_BIN / "edge-server"), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--state-dir", str(state), "--no-fsync"],
            [str(VENV_BIN / "edge-audio"), *stream, "--server", f"http://127.0.0.1:{port}",
             str(wav)],
            port,
        )  # fmt: skip
    finally:
        shutil.rmtree(inside, ignore_errors=True)
    arm_wer = jiwer.wer(reference.lower(), arm_text.lower() or "-")
    x86_wer = jiwer.wer(reference.lower(), x86_text.lower() or "-")
    report(
        pytestconfig,
        f"arm64: clip {CLIP} reference: {reference.strip()}\n"
        f"arm64: recognized under arm64 emulation ({arm_s:.1f} s, WER {arm_wer:.2f}): {arm_text}\n"
        f"arm64: recognized on x86_64 ({x86_s:.1f} s, WER {x86_wer:.2f}): {x86_text}",
    )
    assert arm_text, "no words came back from the arm64 root"
    # The same decoder and model on another CPU: the same words, or nearly (float rounding).
    assert jiwer.wer(x86_text.lower(), arm_text.lower()) <= 0.2, (arm_text, x86_text)
    assert arm_wer <= x86_wer + 0.1, (arm_text, x86_text)

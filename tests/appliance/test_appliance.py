"""The appliance: systemd units, the Ansible playbook, and a real converge into Debian 13.

Fast tests (always): ansible-lint (production profile), the playbook's syntax, edge-server's
systemd notifications, the kiosk's waiting page in Chromium, and the pure helpers.

``appliance`` tests (root and debootstrap needed; skipped, saying so, without them): the
session's converged conference (tests/appliance/converged.py: fresh Debian 13 (trixie) root file
systems for an audio node, a display node and a hub, converged by ``ansible/site.yml`` through
the ``community.general.chroot`` connection, twice (the second run must change nothing), then
``--check --diff`` (must change nothing either)); here the Pis' roots are inspected:
packages, the virtual environment, the installed server starting and notifying systemd, units
enabled and passing ``systemd-analyze verify``, their ``systemd-analyze security`` exposure,
root-only secrets, and the kiosk's Chromium flags. Timings, recaps and exposure scores are
printed and kept in ``.cache/appliance/report.txt``, the runs' logs in ``.cache/appliance/logs/``.

``EDGE_APPLIANCE_KEEP=1`` keeps the roots for a look; ``EDGE_APPLIANCE_MIRROR`` sets the mirror.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiohttp import web
from playwright.async_api import Browser

from edge_audio.cli_node import EXIT_USAGE
from edge_audio.node import EXIT_REFUSED
from tests.appliance.rootfs import RootFs, debian_mirror_from_sources
from tests.appliance.units import (
    HostRecap,
    exec_start_argv,
    parse_exposure,
    parse_recap,
    unit_values,
)
from tests.helpers.paths import ROOT

if TYPE_CHECKING:
    from tests.appliance.converged import Conference

ANSIBLE_DIR = ROOT / "ansible"
SYSTEMD_DIR = ROOT / "systemd"
CACHE = ROOT / ".cache" / "appliance"
VENV_BIN = Path(sys.executable).parent
EXAMPLE_INVENTORY = ANSIBLE_DIR / "inventory" / "example"
VAULT_PASSWORD = EXAMPLE_INVENTORY / "example-vault-password.txt"
WAITING_PAGE = ANSIBLE_DIR / "roles" / "display_node" / "files" / "waiting.html"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

APPLIANCE_TIMEOUT_S = 2400
ROOM = "aula-magna"
AUDIO_HOST, DISPLAY_HOST, HUB_HOST = "room-a-audio", "room-a-display", "conference-hub"
SERVER_ADDRESS = "room-a-audio.local"

AUDIO_PACKAGES = [
    "python3-venv",
    "python3-systemd",
    "libportaudio2",
    "libsndfile1",
    "alsa-utils",
    "pipewire",
    "pipewire-alsa",
    "wireplumber",
    "dbus-user-session",
    "openssh-server",
    "systemd-timesyncd",
    "udev",
    "tzdata",
]
DISPLAY_PACKAGES = [
    "cage",
    "chromium",
    "fonts-noto-core",
    "fonts-dejavu-core",
    "libpam-systemd",
    "python3-systemd",
    "dbus",
    "openssh-server",
    "systemd-timesyncd",
]
SYSTEMD_PYTHON_ORIGIN = (
    "from edge_server.contract.systemd_binding import systemd_python\n"
    "found = systemd_python()\n"
    "print(found.origin if found else None)"
)
SECRET_FILES = [
    "etc/edge-server/credentials/aws",
    "etc/edge-server/credentials/audio-token",
    "etc/edge-server/credentials/listener-token",
    "etc/edge-server/credentials/admin-token",
    "etc/edge-server/edge-server.env",
    "etc/edge-audio/secrets.env",
]
# What an unattended screen needs (issue 6): full screen, no crash-restore bubble, no update
# nags, no infobars or prompts, no first run, autoplay, no pinch or overscroll.
KIOSK_FLAGS = [
    "--kiosk",
    "--ozone-platform=wayland",
    "--noerrdialogs",
    "--disable-session-crashed-bubble",
    "--hide-crash-restore-bubble",
    "--disable-infobars",
    "--check-for-update-interval=31536000",
    "--simulate-outdated-no-au=Tue, 31 Dec 2099 23:59:59 GMT",
    "--disable-component-update",
    "--no-first-run",
    "--no-default-browser-check",
    "--password-store=basic",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-pinch",
    "--overscroll-history-navigation=0",
    "--user-data-dir=/run/edge-kiosk/chromium",
]
# Exposure must stay at or below these (systemd-analyze security, Debian 13's systemd).
EXPOSURE_LIMITS = {"edge-server": 1.5, "edge-audio": 2.0, "edge-kiosk": 3.5}


# --- output that stays visible ----------------------------------------------------------------


def report(config: pytest.Config, text: str) -> None:
    """Print ``text`` past pytest's capture and append it to .cache/appliance/report.txt."""
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():
            print(f"\n{text}", flush=True)
    else:
        print(text)
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "report.txt", "a") as out:
        out.write(text + "\n")


# --- pure helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {
                "debian.sources": "Types: deb\n# http://snapshot.debian.org/archive/debian/x\n"
                "URIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\n\n"
                "Types: deb\nURIs: http://deb.debian.org/debian-security\n"
                "Suites: bookworm-security\n",
                "google.list": "deb https://packages.cloud.google.com/apt cloud-sdk main\n",
            },
            "http://deb.debian.org/debian",
        ),
        (
            {"sources.list": "deb [arch=arm64] http://ftp.it.debian.org/debian/ trixie main\n"},
            "http://ftp.it.debian.org/debian",
        ),
        (
            {"sources.list": "# deb http://x/debian trixie\ndeb-src http://y/debian trixie\n"},
            None,
        ),
        ({"node.sources": "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\n"}, None),
    ],
)
def test_debian_mirror_from_apt_sources(files: dict[str, str], expected: str | None) -> None:
    assert debian_mirror_from_sources(files) == expected


def test_play_recap_parsing() -> None:
    output = (
        "PLAY RECAP ****\n"
        "room-a-audio  : ok=57   changed=0    unreachable=0    failed=0    skipped=10\n"
        "room-a-display : ok=36   changed=3    unreachable=0    failed=1    skipped=7\n"
    )
    assert parse_recap("no recap") == {}
    assert parse_recap(output) == {
        "room-a-audio": HostRecap(ok=57, changed=0, unreachable=0, failed=0),
        "room-a-display": HostRecap(ok=36, changed=3, unreachable=0, failed=1),
    }


def test_unit_parsing_and_exposure_verdict() -> None:
    unit = (
        "[Unit]\nDescription=x\n[Service]\n# c\n"
        'ExecStart=/bin/cage -- b \\\n    "--a=1, 2" \\\n    x\nUser=u\n'
    )
    assert exec_start_argv(unit) == ["/bin/cage", "--", "b", "--a=1, 2", "x"]
    assert unit_values(unit, "Service", "User") == ["u"]
    assert unit_values(unit, "Unit", "User") == []
    assert parse_exposure("→ Overall exposure level for a.service: 1.1 OK 🙂") == (1.1, "OK")
    with pytest.raises(ValueError, match="no exposure"):
        parse_exposure("nothing")


def test_edge_audio_unit_bounds_its_start_and_stops_on_what_a_restart_cannot_fix() -> None:
    unit = (SYSTEMD_DIR / "edge-audio.service").read_text()
    # A node that is not ready never holds multi-user.target for long (issue 16, point 6).
    (timeout,) = unit_values(unit, "Service", "TimeoutStartSec")
    assert timeout.endswith("s"), timeout
    assert 0 < int(timeout[:-1]) <= 300, timeout
    assert unit_values(unit, "Service", "WatchdogSec") == ["30s"]
    # Exit 2 (configuration) and 3 (refused for good) end in a stopped unit, not a loop; the
    # docs say so too.
    assert unit_values(unit, "Service", "RestartPreventExitStatus") == [
        f"{EXIT_USAGE} {EXIT_REFUSED}"
    ]
    assert (
        f"`RestartPreventExitStatus={EXIT_USAGE} {EXIT_REFUSED}`"
        in (ROOT / "docs" / "audio-node.md").read_text()
    )


# --- edge-server under Type=notify ------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _receive_until(sock: socket.socket, needle: str, deadline_s: float) -> list[str]:
    messages: list[str] = []
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        sock.settimeout(max(0.05, end - time.monotonic()))
        try:
            messages.append(sock.recv(4096).decode())
        except TimeoutError:
            break
        if needle in messages[-1]:
            return messages
    raise AssertionError(f"no {needle!r} within {deadline_s} s; got {messages}")


@contextlib.contextmanager
def _serve_with_notify(
    argv: list[str],
    notify_path: Path,
    notify_env: str,
    env: dict[str, str],
    *,
    deadline_s: float = 60.0,
) -> Iterator[tuple[subprocess.Popen[bytes], socket.socket]]:
    """Start ``argv`` with NOTIFY_SOCKET=``notify_env`` (bound here at ``notify_path``) and
    WATCHDOG_USEC=0.2 s; yield it once READY=1 arrived; stop it by PID."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify_path))
    notify_path.chmod(0o777)
    env = {**env, "NOTIFY_SOCKET": notify_env, "WATCHDOG_USEC": "200000", "JOURNAL_STREAM": "0:0"}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _receive_until(sock, "READY=1", deadline_s)
        yield proc, sock
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        sock.close()


def _check_notify_protocol(proc: subprocess.Popen[bytes], sock: socket.socket, url: str) -> None:
    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as answer:  # listening at READY
        assert answer.status == 200
    dogs = 0
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        dogs += sum("WATCHDOG=1" in m for m in _receive_until(sock, "WATCHDOG=1", 2.0))
    assert dogs >= 3, f"WATCHDOG=1 should come every 0.1 s, got {dogs} in 1 s"
    proc.send_signal(signal.SIGTERM)
    _receive_until(sock, "STOPPING=1", 15.0)
    assert proc.wait(timeout=20) == 0


def test_edge_server_tells_systemd_ready_watchdog_and_stopping(tmp_path: Path) -> None:
    port = _free_port()
    argv = [
        str(VENV_BIN / "edge-server"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--state-dir",
        str(tmp_path / "state"),
        "--no-fsync",
    ]
    notify = tmp_path / "notify"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFY_", "WATCHDOG_"))}
    with _serve_with_notify(argv, notify, str(notify), env) as (proc, sock):
        _check_notify_protocol(proc, sock, f"http://127.0.0.1:{port}")


# --- lint and syntax --------------------------------------------------------------------------


def _tool_env() -> dict[str, str]:
    """This machine's environment for Ansible, minus what points pip at host-only folders."""
    drop = ("ANSIBLE_", "PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(
        PATH=f"{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_HOME=str(CACHE / "ansible-home"),
        ANSIBLE_LOCAL_TEMP=str(CACHE / "ansible-home" / "tmp"),
        PY_COLORS="0",
        NO_COLOR="1",
    )
    return env


@pytest.mark.timeout(600)
def test_ansible_lint_production_profile() -> None:
    done = subprocess.run(
        [str(VENV_BIN / "ansible-lint"), "--offline", "--profile", "production", "--nocolor"],
        cwd=ANSIBLE_DIR,
        env=_tool_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "Profile 'production' was required, and it passed" in done.stdout + done.stderr


@pytest.mark.timeout(300)
def test_playbook_syntax() -> None:
    done = subprocess.run(
        [
            str(VENV_BIN / "ansible-playbook"),
            "--syntax-check",
            "-i",
            str(EXAMPLE_INVENTORY),
            "--vault-password-file",
            str(VAULT_PASSWORD),
            "site.yml",
        ],
        cwd=ANSIBLE_DIR,
        env=_tool_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_example_vault_is_encrypted() -> None:
    vault = EXAMPLE_INVENTORY / "group_vars" / "all" / "vault.yml"
    assert vault.read_text().startswith("$ANSIBLE_VAULT;"), "secrets never in plain text"


# --- the kiosk's waiting page -----------------------------------------------------------------


@pytest.mark.browser
async def test_waiting_page_moves_to_the_kiosk_when_the_server_answers(browser: Browser) -> None:
    port = _free_port()
    target = f"http://127.0.0.1:{port}/kiosk/{ROOM}?lang=it,de"
    page = await browser.new_page()
    runner = None
    try:
        await page.goto(f"file://{WAITING_PAGE}#{target}", timeout=10000)
        await asyncio.sleep(2.5)  # nobody answers yet: the page waits, no error page
        assert page.url.startswith("file://")
        detail = await page.text_content("#detail", timeout=5000)
        assert f"127.0.0.1:{port}" in (detail or "")

        async def healthz(_request: web.Request) -> web.Response:
            return web.json_response({"status": "ok"})

        async def kiosk(_request: web.Request) -> web.Response:
            return web.Response(text="<title>kiosk</title>captions", content_type="text/html")

        app = web.Application()
        app.router.add_get("/healthz", healthz)
        app.router.add_get(f"/kiosk/{ROOM}", kiosk)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        started = time.monotonic()
        await page.wait_for_url(target, timeout=10000)
        assert time.monotonic() - started < 6.0, "the kiosk should open within the poll interval"
        assert await page.title() == "kiosk"

        await page.goto(f"file://{WAITING_PAGE}", timeout=10000)
        assert await page.text_content("#headline", timeout=5000) == "Kiosk not configured"
    finally:
        await page.close()
        if runner is not None:
            await runner.cleanup()


# --- the converge -----------------------------------------------------------------------------


@dataclass
class Run:
    """One ansible-playbook run."""

    name: str
    seconds: float
    recap: dict[str, HostRecap]
    log: Path
    returncode: int = 0
    output: str = ""


@dataclass
class Appliance:
    """Two converged roots and what it took."""

    audio: RootFs
    display: RootFs
    runs: dict[str, Run] = field(default_factory=dict)
    """The shared converge's runs: ``first``, ``second``, ``check`` (every host)."""


def _inventory(folder: Path, audio: Path, display: Path) -> Path:
    """The example inventory's shared variables and vault, with hosts that are chroots (room A's
    audio node, at ``SERVER_ADDRESS``, and display node; no hub)."""
    from tests.appliance.converged import conference_inventory  # it imports this module

    return conference_inventory(folder, audio, display, audio_vars={"edge_address": SERVER_ADDRESS})


def _playbook(
    name: str, inventory: Path, logs: Path, *extra: str, expect_success: bool = True
) -> Run:
    """Run site.yml on ``inventory``; a failure fails the test unless ``expect_success`` is
    false (the run, its exit status and output are returned either way)."""
    log = logs / f"{name}.log"
    argv = [
        str(VENV_BIN / "ansible-playbook"),
        "-i",
        str(inventory),
        "site.yml",
        "--vault-password-file",
        str(VAULT_PASSWORD),
        "-e",
        "ansible_python_interpreter=/usr/bin/python3",
        "-e",
        "ansible_become=false",
        *extra,
    ]
    started = time.monotonic()
    with open(log, "w") as out:
        done = subprocess.run(
            argv,
            cwd=ANSIBLE_DIR,
            env=_tool_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=APPLIANCE_TIMEOUT_S,
            check=False,
        )
    output = log.read_text()
    seconds = round(time.monotonic() - started, 1)
    run = Run(name, seconds, parse_recap(output), log, done.returncode, output)
    if done.returncode != 0 and expect_success:
        tail = output[-6000:]
        pytest.fail(f"ansible-playbook ({name}) failed, exit {done.returncode}, {log}:\n{tail}")
    return run


def _pin_installed_software(root: RootFs, folder: Path) -> list[str]:
    """The extra vars that make later runs bring the wheel and requirements the first run
    installed in ``root`` (copied to ``folder``), whatever happens to the checkout meanwhile."""
    installed = root.path / "opt/edge-captions"
    (wheel,) = (installed / "dist").glob("room_captions-*.whl")
    folder.mkdir()
    shutil.copy2(wheel, folder / wheel.name)
    shutil.copy2(installed / "requirements.txt", folder / "requirements.txt")
    return [
        *("-e", f"edge_wheel={folder / wheel.name}"),
        *("-e", f"edge_requirements={folder / 'requirements.txt'}"),
    ]


@pytest.fixture(scope="module")
def appliance(conference: Conference) -> Appliance:
    """The audio and display nodes of the session's converged conference (tests/appliance/
    converged.py: three roots, first run, second run, ``--check --diff``)."""
    return Appliance(conference.audio, conference.display, conference.runs)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.appliance
@pytest.mark.timeout(APPLIANCE_TIMEOUT_S)
def test_converge_twice_second_run_changes_nothing(appliance: Appliance) -> None:
    first, second = appliance.runs["first"], appliance.runs["second"]
    assert set(first.recap) == {AUDIO_HOST, DISPLAY_HOST, HUB_HOST}
    assert all(r.failed == 0 and r.unreachable == 0 for r in first.recap.values())
    assert all(r.changed > 0 for r in first.recap.values()), "a fresh root must get changes"
    assert set(second.recap) == {AUDIO_HOST, DISPLAY_HOST, HUB_HOST}
    changed = {h: r.changed for h, r in second.recap.items()}
    assert changed == {AUDIO_HOST: 0, DISPLAY_HOST: 0, HUB_HOST: 0}, (
        f"second run changed things: see {second.log}"
    )


@pytest.mark.appliance
@pytest.mark.timeout(APPLIANCE_TIMEOUT_S)
def test_check_diff_on_converged_nodes_changes_nothing(appliance: Appliance) -> None:
    check = appliance.runs["check"]
    assert {h: (r.changed, r.failed) for h, r in check.recap.items()} == {
        AUDIO_HOST: (0, 0),
        DISPLAY_HOST: (0, 0),
        HUB_HOST: (0, 0),
    }, f"see {check.log}"


@pytest.mark.appliance
@pytest.mark.timeout(APPLIANCE_TIMEOUT_S)
@pytest.mark.parametrize(
    ("node", "packages"), [("audio", AUDIO_PACKAGES), ("display", DISPLAY_PACKAGES)]
)
def test_packages_present(appliance: Appliance, node: str, packages: list[str]) -> None:
    root: RootFs = getattr(appliance, node)
    done = root.run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\\n", *packages])
    installed = {
        line.split()[0] for line in done.stdout.splitlines() if line.endswith(" installed")
    }
    assert sorted(set(packages) - installed) == [], done.stderr


@pytest.mark.appliance
@pytest.mark.timeout(APPLIANCE_TIMEOUT_S)
def test_virtual_environment_runs_the_project(appliance: Appliance) -> None:
    venv = "/opt/edge-captions/venv/bin"
    version = appliance.audio.run([f"{venv}/edge-server", "--version"])
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"edge-server {VERSION}"
    # systemd-python has no wheel: the venv (no system site-packages) loads Debian's build.
    found = appliance.audio.run([f"{venv}/python", "-c", SYSTEMD_PYTHON_ORIGIN])
    assert found.stdout.strip() == "/usr/lib/python3/dist-packages/systemd", found.stderr
    # As the service user, reading the role's environment file; no PipeWire, no sound card in
    # a chroot: a valid, empty ranking (exit 1: nothing to choose).
    devices = appliance.audio.run([f"{venv}/edge-audio", "devices", "--json"], user="edge-audio")
    assert devices.returncode in (0, 1), devices.stderr
    ranking = json.loads(devices.stdout)
    assert ranking["preference"] == "default"
    assert ranking["pipewire"] is False
    assert isinstance(ranking["candidates"], list)


@pytest.mark.appliance
@pytest.mark.timeout(APPLIANCE_TIMEOUT_S)
def test_installed_server_starts_with_its_configuration_and_notifies(appliance: Appliance) -> None:
    root = appliance.audio
    smoke = root.path / "tmp" / "edge-smoke"
    smoke.mkdir()
    smoke.chmod(0o777)
    port = _free_port()
    argv = [
        "chroot",
        "--userspec=edge-server:edge-server",
        str(root.path),
        "/opt/edge-captions/venv/bin/edge-server",
        "serve",
        "--config",
        "/etc/edge-server/edge-server.toml",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--state-dir",
        "/tmp/edge-smoke/state",
    ]
    env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8"}
    try:
        with _serve_with_notify(argv, smoke / "notify", "/tmp/edge-smoke/notify", env) as (
            proc,
            sock,
        ):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
                health = json.load(answer)
            assert health["rooms"][ROOM]["targets"] == ["it", "de"]  # from the role's TOML
            _check_notify_protocol(proc, sock, f"http://127.0.0.1:{port}")
    finally:
        shutil.rmtree(smoke, ignore_errors=True)


def _verify_in_root(root: RootFs, unit: str) -> str:
    done = root.run(["systemd-analyze", "verify", f"/etc/systemd/system/{unit}.service"])
    return (done.stdout + done.stderr).strip() + (
        "" if done.returncode == 0 else f"\nexit {done.returncode}"
    )


@pytest.mark.appliance
@pytest.mark.timeout(APPLIANCE_TIMEOUT_S)
@pytest.mark.parametrize(
    ("node", "unit"), [("audio", "edge-server"), ("audio", "edge-audio"), ("display", "edge-kiosk")]
)
def test_unit_installed_enabled_and_verified(appliance: Appliance, node: str, unit: str) -> None:
    root: RootFs = getattr(appliance, node)
    installed = root.path / "etc/systemd/system" / f"{unit}.service"
    text = installed.read_text()
    assert text.startswith("#\n# Ansible managed")
    assert (SYSTEMD_DIR / f"{unit}.service").read_text().strip() in text, "installed from systemd/"
    wants = root.path / "etc/systemd/system/multi-user.target.wants" / f"{unit}.service"
    assert wants.is_symlink(), "not enabled"
    assert os.readlink(wants) == f"/etc/systemd/system/{unit}.service"
    # Debian 13's systemd (257), inside the root: ExecStart= paths must exist there.
    assert _verify_in_root(root, unit) == ""
    # This machine's systemd (Debian 12's 252: what Raspberry Pi OS Bookworm runs), on the root.
    if shutil.which("systemd-analyze"):
        done = subprocess.run(
            [
                "systemd-analyze",
                "verify",
                f"--root={root.path}",
                f"/etc/systemd/system/{unit}.service",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        about_unit = [line for line in (done.stdout + done.stderr).splitlines() if unit in line]
        assert about_unit == [], "\n".join(about_unit)


@pytest.mark.appliance
@pytest.mark.timeout(APPLIANCE_TIMEOUT_S)
def test_capture_reaches_the_service_users_pipewire(appliance: Appliance) -> None:
    root = appliance.audio.path
    uid = next(
        line.split(":")[2]
        for line in (root / "etc/passwd").read_text().splitlines()
        if line.startswith("edge-audio:")
    )
    assert (root / "var/lib/systemd/linger/edge-audio").exists(), (
        "lingering keeps the session up from boot"
    )
    dropin = (root / "etc/systemd/system/edge-audio.service.d/pipewire.conf").read_text()
    assert f"Environment=XDG_RUNTIME_DIR=/run/user/{uid}" in dropin
    assert f"After=user@{uid}.service" in dropin
    assert (root / "etc/systemd/user/sockets.target.wants/pipewire.socket").exists()
    assert (root / "etc/systemd/user/pipewire.service.wants/wireplumber.service").exists()
    groups = (root / "etc/group").read_text().splitlines()
    assert any(
        g.startswith("audio:") and "edge-audio" in g.split(":")[3].split(",") for g in groups
    )


@pytest.mark.appliance
@pytest.mark.timeout(APPLIANCE_TIMEOUT_S)
def test_security_exposure(appliance: Appliance, pytestconfig: pytest.Config) -> None:
    lines = []
    scores = {}
    for root, unit in (
        (appliance.audio, "edge-server"),
        (appliance.audio, "edge-audio"),
        (appliance.display, "edge-kiosk"),
    ):
        done = root.run(
            [
                "systemd-analyze",
                "security",
                "--offline=true",
                "--no-pager",
                f"/etc/systemd/system/{unit}.service",
            ]
        )
        score, level = parse_exposure(done.stdout + done.stderr)
        scores[unit] = (score, level)
        lines.append(f"appliance: systemd-analyze security {unit}.service: {score} {level}")
    report(pytestconfig, "\n".join(lines))
    for unit, (score, level) in scores.items():
        assert level in ("SAFE", "OK"), (
            f"{unit}: {score} {level}: justify it in the unit, then raise the limit"
        )
        assert score <= EXPOSURE_LIMITS[unit], f"{unit}: exposure {score} > {EXPOSURE_LIMITS[unit]}"


@pytest.mark.appliance
@pytest.mark.timeout(APPLIANCE_TIMEOUT_S)
def test_secret_files_are_root_only(appliance: Appliance) -> None:
    root = appliance.audio.path
    for relative in SECRET_FILES:
        path = root / relative
        info = path.stat()
        assert (info.st_uid, info.st_gid, _mode(path)) == (0, 0, 0o600), relative
    assert _mode(root / "etc/edge-server/credentials") == 0o700
    # The example vault's values arrived, and only there.
    assert (
        root / "etc/edge-server/credentials/audio-token"
    ).read_text() == "example-audio-token-change-me"
    assert (
        root / "etc/edge-server/credentials/listener-token"
    ).read_text() == "example-listener-token-change-me"
    assert (
        "EDGE_AUDIO_TOKEN=example-audio-token-change-me"
        in (root / "etc/edge-audio/secrets.env").read_text()
    )
    for public in ("etc/edge-audio/edge-audio.env", "etc/edge-server/edge-server.toml"):
        assert "token" not in (root / public).read_text().lower().replace("edge_audio_token", ""), (
            public
        )
    server_unit = (root / "etc/systemd/system/edge-server.service").read_text()
    assert "LoadCredential=audio-token:/etc/edge-server/credentials/audio-token" in server_unit


@pytest.mark.appliance
@pytest.mark.timeout(APPLIANCE_TIMEOUT_S)
def test_kiosk_unit_shows_the_room_with_the_unattended_screen_flags(appliance: Appliance) -> None:
    root = appliance.display.path
    unit = (root / "etc/systemd/system/edge-kiosk.service").read_text()
    argv = exec_start_argv(unit)
    # The watchdog runs cage, which runs the output helper, which becomes Chromium
    # (tests/appliance/test_display.py has the rest of the display Pi).
    assert argv[:3] == ["/usr/bin/python3", "-m", "kiosk.watchdog"]
    assert "/usr/bin/cage" in argv
    flags = argv[argv.index("${EDGE_KIOSK_BROWSER}") + 1 :]
    assert sorted(set(KIOSK_FLAGS) - set(flags)) == []
    assert "--no-sandbox" not in flags, "Chromium keeps its sandbox"
    disabled = next(f for f in flags if f.startswith("--disable-features="))
    assert {"Translate", "TranslateUI"} <= set(disabled.split("=", 1)[1].split(","))
    assert flags[-1] == "--user-data-dir=/run/edge-kiosk/chromium"  # the watchdog adds the page
    assert unit_values(unit, "Service", "User") == ["edge-kiosk"]
    assert unit_values(unit, "Service", "TTYPath") == ["/dev/tty1"]
    assert unit_values(unit, "Service", "Restart") == ["always"]
    assert unit_values(unit, "Unit", "Conflicts") == ["getty@tty1.service"]
    env = (root / "etc/edge-kiosk/edge-kiosk.env").read_text()
    assert f"EDGE_KIOSK_URL=http://{SERVER_ADDRESS}:8080/kiosk/{ROOM}?lang=it,de\n" in env
    token = root / "etc/edge-kiosk/listener-token"  # a credential of the unit, not in the URL
    assert (token.read_text(), _mode(token)) == ("example-listener-token-change-me", 0o600)
    assert "EDGE_KIOSK_BROWSER=/usr/bin/chromium\n" in env
    assert (root / "usr/bin/chromium").exists()
    assert (root / "usr/bin/cage").exists()
    assert (root / "usr/share/edge-kiosk/waiting.html").read_bytes() == WAITING_PAGE.read_bytes()
    assert "pam_systemd.so" in (root / "etc/pam.d/edge-kiosk").read_text()
    assert any(
        line.startswith("edge-kiosk:") for line in (root / "etc/passwd").read_text().splitlines()
    )

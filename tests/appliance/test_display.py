"""The display node, converged into a fresh Debian 13 root: the server found by name, token
rotation with ``--tags secrets``, the token off every command line and out of ``--check
--diff``, the screen's mode and rotation, the watchdog helpers on Debian's python3.

The root is the session's converged conference's (tests/appliance/converged.py); its inventory
leaves the audio host's ``edge_address`` unset, as the example inventory does, so the display
must find its server at ``<audio host>.local``, and sets the screen's rotation and video mode.
The runs made here are limited to display_nodes. ``appliance`` marker: root and debootstrap
needed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.appliance.converged import Conference
from tests.appliance.rootfs import RootFs
from tests.appliance.test_appliance import (
    AUDIO_HOST,
    DISPLAY_HOST,
    ROOM,
    Run,
    _mode,
    _playbook,
    report,
)
from tests.appliance.units import exec_start_argv, parse_exposure, unit_values

pytestmark = [pytest.mark.appliance, pytest.mark.timeout(2400)]

EXAMPLE_TOKEN = "example-listener-token-change-me"
ROTATED_TOKEN = "rotated-listener-token-4f1c9a7e2b"
KIOSK_EXPOSURE_LIMIT = 3.1  # Debian 13's systemd-analyze security, before the watchdog
# Every file the role writes on the display Pi besides the token: --tags secrets leaves them be.
ROLE_FILES = [
    "etc/edge-kiosk/edge-kiosk.env",
    "etc/systemd/system/edge-kiosk.service",
    "etc/pam.d/edge-kiosk",
    "usr/share/edge-kiosk/waiting.html",
    "usr/lib/edge-kiosk/python/kiosk/watchdog.py",
    "usr/lib/edge-kiosk/python/edge_server/contract/systemd_notify.py",
    "boot/firmware/cmdline.txt",
]


@dataclass
class Display:
    root: RootFs
    inventory: Path
    logs: Path
    runs: dict[str, Run] = field(default_factory=dict)


@pytest.fixture(scope="module")
def display(conference: Conference) -> Display:
    """The display node of the session's converged conference (tests/appliance/converged.py):
    its first and second runs (the second must change nothing); later runs here are limited to
    display_nodes."""
    return Display(conference.display, conference.inventory, conference.logs, conference.runs)


def _run(display: Display, name: str, *extra: str) -> Run:
    return _playbook(name, display.inventory, display.logs, "--limit", "display_nodes", *extra)


def test_second_run_changes_nothing(display: Display) -> None:
    assert display.runs["first"].recap[DISPLAY_HOST].changed > 0
    assert display.runs["second"].recap[DISPLAY_HOST].changed == 0, display.runs["second"].log


def test_kiosk_finds_its_server_by_the_audio_hosts_local_name(display: Display) -> None:
    env = (display.root.path / "etc/edge-kiosk/edge-kiosk.env").read_text()
    assert f"EDGE_KIOSK_URL=http://{AUDIO_HOST}.local:8080/kiosk/{ROOM}?lang=it,de\n" in env
    assert "192.0.2.11" not in env, "never the provisioning address"
    settings = [line for line in env.splitlines() if not line.startswith("#")]
    assert not any("token" in line.lower() for line in settings), settings


def test_token_is_root_only_and_off_every_command_line(display: Display) -> None:
    root = display.root.path
    token = root / "etc/edge-kiosk/listener-token"
    info = token.stat()
    assert (info.st_uid, info.st_gid, _mode(token)) == (0, 0, 0o600)
    assert token.read_text() == EXAMPLE_TOKEN
    unit = (root / "etc/systemd/system/edge-kiosk.service").read_text()
    argv = exec_start_argv(unit)
    assert not any(EXAMPLE_TOKEN in arg or "token=" in arg for arg in argv), argv
    assert EXAMPLE_TOKEN not in unit
    assert unit_values(unit, "Service", "LoadCredential") == [
        "listener-token:/etc/edge-kiosk/listener-token"
    ]
    # The watchdog runs the browser: cage, then the output helper, then Chromium.
    assert argv[:3] == ["/usr/bin/python3", "-m", "kiosk.watchdog"]
    cage = argv.index("/usr/bin/cage")
    assert argv[cage : cage + 5] == ["/usr/bin/cage", "-d", "--", "/usr/bin/python3", "-m"]
    assert "${EDGE_KIOSK_BROWSER}" in argv
    assert unit_values(unit, "Service", "Type") == ["notify"]
    assert unit_values(unit, "Service", "WatchdogSec") == ["60s"]
    assert unit_values(unit, "Service", "OOMScoreAdjust") == ["500"]
    assert unit_values(unit, "Service", "MemoryHigh") == ["80%"]
    # Nothing in the first two runs' output shows the token (no_log).
    for run in display.runs.values():
        assert EXAMPLE_TOKEN not in run.output, run.log


def test_check_diff_shows_no_token_and_tags_secrets_rewrites_only_the_token(
    display: Display,
) -> None:
    root = display.root.path
    listed = _run(display, "list-secrets", "--tags", "secrets", "--list-tasks")
    assert "Give the kiosk the room's listener token" in listed.output

    rotated = ("-e", f"edge_server_listener_token={ROTATED_TOKEN}")
    check = _run(display, "check-rotated", "--check", "--diff", *rotated)
    assert check.recap[DISPLAY_HOST].changed == 1, check.log  # the token, and only it
    assert ROTATED_TOKEN not in check.output, check.log
    assert EXAMPLE_TOKEN not in check.output, check.log
    assert (root / "etc/edge-kiosk/listener-token").read_text() == EXAMPLE_TOKEN

    before = {f: ((root / f).read_bytes(), (root / f).stat().st_mtime_ns) for f in ROLE_FILES}
    time.sleep(1.1)  # an rewritten file would get a later mtime
    secrets = _run(display, "secrets", "--tags", "secrets", *rotated)
    assert secrets.recap[DISPLAY_HOST].changed == 1, secrets.log
    assert ROTATED_TOKEN not in secrets.output, secrets.log
    assert (root / "etc/edge-kiosk/listener-token").read_text() == ROTATED_TOKEN
    assert _mode(root / "etc/edge-kiosk/listener-token") == 0o600
    after = {f: ((root / f).read_bytes(), (root / f).stat().st_mtime_ns) for f in ROLE_FILES}
    assert after == before, "--tags secrets touched more than the token"
    # The kiosk restarts for it (its handler; skipped here, where systemd does not run).
    assert "RUNNING HANDLER [display_node : Restart the kiosk]" in secrets.output

    back = _run(display, "secrets-back", "--tags", "secrets")
    assert back.recap[DISPLAY_HOST].changed == 1
    assert (root / "etc/edge-kiosk/listener-token").read_text() == EXAMPLE_TOKEN


def test_screen_mode_and_rotation(display: Display) -> None:
    root = display.root.path
    env = (root / "etc/edge-kiosk/edge-kiosk.env").read_text()
    assert "EDGE_KIOSK_OUTPUT_MODE=1920x1080\n" in env
    assert "EDGE_KIOSK_OUTPUT_ROTATION=90\n" in env
    cmdline = (root / "boot/firmware/cmdline.txt").read_text()
    words = cmdline.split()
    assert [w for w in words if w.startswith("video=")] == ["video=HDMI-A-1:1920x1080@60"]
    assert "consoleblank=0" in words
    assert "rootwait" in words
    assert len(cmdline.splitlines()) == 1  # the Pi reads one line
    packages = display.root.run(["dpkg-query", "-W", "-f", "${db:Status-Status}", "wlr-randr"])
    assert packages.stdout == "installed", packages.stderr


def test_watchdog_and_output_helpers_run_on_debians_python(display: Display) -> None:
    env = {"PYTHONPATH": "/usr/lib/edge-kiosk/python"}
    root = display.root
    root.env.update(env)
    try:
        helper = root.run(["/usr/bin/python3", "-m", "kiosk.watchdog", "--help"])
        assert helper.returncode == 0, helper.stderr
        assert "--stall" in helper.stdout
        refused = root.run(
            ["/usr/bin/python3", "-m", "kiosk.watchdog", "--url", "http://x/kiosk/a?token=t",
             "--", "/bin/true"]
        )  # fmt: skip
        assert refused.returncode == 2
        assert "must not carry the token" in refused.stderr
        # Outside a Wayland session the output helper changes nothing and becomes the command.
        output = root.run(
            ["/usr/bin/python3", "-m", "kiosk.output", "--mode=1920x1080", "--rotation=90",
             "--", "/bin/echo", "browser"]
        )  # fmt: skip
        assert output.returncode == 0, output.stderr
        assert output.stdout == "browser\n"
    finally:
        for key in env:
            root.env.pop(key, None)


def test_unit_verifies_and_exposure_is_not_worse(
    display: Display, pytestconfig: pytest.Config
) -> None:
    root = display.root
    verify = root.run(["systemd-analyze", "verify", "/etc/systemd/system/edge-kiosk.service"])
    assert (verify.returncode, (verify.stdout + verify.stderr).strip()) == (0, "")
    done = root.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager",
         "/etc/systemd/system/edge-kiosk.service"]
    )  # fmt: skip
    score, level = parse_exposure(done.stdout + done.stderr)
    report(pytestconfig, f"display: systemd-analyze security edge-kiosk.service: {score} {level}")
    assert score <= KIOSK_EXPOSURE_LIMIT, f"exposure {score} {level}"

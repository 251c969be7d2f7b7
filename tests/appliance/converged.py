"""One converged conference for every appliance module: an audio node, a display node and a hub.

Three fresh Debian 13 roots (audio, display, hub) converged by ``ansible/site.yml`` in one
playbook run, then a second run (must change nothing) and ``--check --diff`` (must change
nothing either), made once per test session and shared by test_appliance.py, test_display.py,
test_tags.py and test_hub.py (each converged its own roots before: about 7 minutes of setup).

Tests that change a root put back what they changed and assert it (token rotation and back,
refused runs that must leave the credentials untouched); tests that start programs inside a
root stop them by PID and remove what they wrote.

The inventory is the example's group variables and vault with three chroot hosts. The audio
host has no ``edge_address``, as in the example inventory, so the display finds its server at
``<audio host>.local``. The hub's ``edge_address`` is 127.0.0.2 (loopback: Redis binds to it,
the audio node's ``replicate_to`` points at it, and nothing leaves this machine) and its Redis
port is a free port of this machine, so a test can start the hub's Redis from the rendered file.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.appliance.rootfs import RootFs, base_tarball, host_debian_mirror, prepared_roots
from tests.appliance.test_appliance import (
    AUDIO_HOST,
    CACHE,
    DISPLAY_HOST,
    EXAMPLE_INVENTORY,
    HUB_HOST,
    ROOM,
    Run,
    _free_port,
    _pin_installed_software,
    _playbook,
    report,
)

HUB_ADDRESS = "127.0.0.2"
"""The address the Pis reach the hub at (loopback here: nothing leaves this machine)."""
EXAMPLE_REDIS_PASSWORD = "example-hub-redis-password-change-me"
CMDLINE = (
    "console=serial0,115200 console=tty1 root=PARTUUID=0f1e2d3c-02 rootwait video=HDMI-A-1:800x600"
)
"""The display Pi's /boot/firmware/cmdline.txt before the converge (test_display.py)."""
PIPELINING = ("-e", "ansible_pipelining=true")
"""One chroot process per task instead of five (mkdir, copy, chmod, run, remove)."""


@dataclass
class Conference:
    """The three converged roots, their inventory, and the runs made on them."""

    audio: RootFs
    display: RootFs
    hub: RootFs
    inventory: Path
    logs: Path
    pinned: list[str]
    redis_port: int
    runs: dict[str, Run] = field(default_factory=dict)
    """The converge's runs: ``first``, ``second``, ``check``."""
    later: list[Run] = field(default_factory=list)
    """Runs the tests made since, in order."""

    @property
    def hosts(self) -> set[str]:
        """Every host of the inventory."""
        return {AUDIO_HOST, DISPLAY_HOST, HUB_HOST}

    def run(self, name: str, *extra: str, expect_success: bool = True) -> Run:
        """site.yml on the inventory (``--limit`` and more in ``extra``), with the software the
        converge installed; its log in ``logs``."""
        run = _playbook(name, self.inventory, self.logs, *PIPELINING, *self.pinned, *extra,
                        expect_success=expect_success)  # fmt: skip
        self.later.append(run)
        return run


def conference_inventory(
    folder: Path,
    audio: Path,
    display: Path,
    *,
    hub: Path | None = None,
    redis_port: int | None = None,
    audio_vars: dict[str, object] | None = None,
    display_vars: dict[str, object] | None = None,
) -> Path:
    """The example inventory's group variables and vault, with hosts that are chroots: room A's
    audio and display nodes (with ``audio_vars``, ``display_vars``) and, given ``hub``, a hub
    at ``HUB_ADDRESS`` whose Redis listens on ``redis_port``."""
    folder.mkdir()
    shutil.copytree(EXAMPLE_INVENTORY / "group_vars", folder / "group_vars")
    children: dict[str, object] = {
        "audio_nodes": {"hosts": {AUDIO_HOST: {"ansible_host": str(audio), **(audio_vars or {})}}},
        "display_nodes": {
            "hosts": {DISPLAY_HOST: {"ansible_host": str(display), **(display_vars or {})}}
        },
        "rooms": {
            "children": {
                "room_a": {
                    "hosts": {AUDIO_HOST: None, DISPLAY_HOST: None},
                    "vars": {
                        "edge_room": ROOM,
                        "edge_source_lang": "en-US",
                        "edge_target_langs": ["it", "de"],
                    },
                }
            }
        },
    }
    if hub is not None:
        hub_vars = {"ansible_host": str(hub), "edge_address": HUB_ADDRESS}
        children["hubs"] = {"hosts": {HUB_HOST: {**hub_vars, "hub_redis_port": redis_port}}}
    hosts = {
        "all": {
            "vars": {
                "ansible_connection": "community.general.chroot",
                # The example vault's published secrets, on purpose (site.yml refuses them else).
                "edge_allow_example_secrets": True,
            },
            "children": children,
        }
    }
    (folder / "hosts.yml").write_text(json.dumps(hosts, indent=2))  # JSON is YAML
    return folder


def _recap_line(run: Run) -> str:
    recap = ", ".join(
        f"{h} ok={r.ok} changed={r.changed} failed={r.failed}" for h, r in sorted(run.recap.items())
    )
    return f"conference: {run.name} run {run.seconds} s: {recap}"


def converge_conference(config: pytest.Config, work: Path) -> Iterator[Conference]:
    """Make the three roots, converge them (first, second, ``--check --diff``), yield them; on
    the way out, report every run and close the roots (kept with ``EDGE_APPLIANCE_KEEP=1``)."""
    if os.geteuid() != 0:
        pytest.skip("the converge test needs root (debootstrap, chroot, mounting /proc)")
    if shutil.which("debootstrap") is None:
        pytest.skip(
            "the converge test needs debootstrap (scripts/setup-system.sh test installs it)"
        )
    mirror = host_debian_mirror()
    if mirror is None:
        pytest.fail("no Debian mirror in /etc/apt/sources.list{,.d}: set EDGE_APPLIANCE_MIRROR")
    notes: list[str] = []
    (CACHE / "report.txt").unlink(missing_ok=True)
    started = time.monotonic()
    tarball = base_tarball(CACHE, mirror, notes)
    base_s = time.monotonic() - started
    pip = {"root/.cache/pip": CACHE / "pip"}
    audio = RootFs(
        (work / "audio").resolve(),
        tarball,
        {"var/cache/apt/archives": CACHE / "apt-archives" / "audio", **pip},
    )
    display = RootFs(
        (work / "display").resolve(),
        tarball,
        {"var/cache/apt/archives": CACHE / "apt-archives" / "display"},
    )
    hub = RootFs(
        (work / "hub").resolve(),
        tarball,
        {"var/cache/apt/archives": CACHE / "apt-archives" / "hub", **pip},
    )
    keep = os.environ.get("EDGE_APPLIANCE_KEEP") == "1"
    with prepared_roots([audio, display, hub], keep=keep):
        firmware = display.path / "boot/firmware"
        firmware.mkdir(parents=True)
        (firmware / "cmdline.txt").write_text(CMDLINE + "\n")
        redis_port = _free_port()
        inventory = conference_inventory(
            work / "inventory", audio.path, display.path, hub=hub.path, redis_port=redis_port,
            display_vars={
                "display_node_output_rotation": 90,
                "display_node_video_cmdline": "HDMI-A-1:1920x1080@60",
            },
        )  # fmt: skip
        logs = CACHE / "logs"  # kept after the run, for a look (and CI's artifacts)
        shutil.rmtree(logs, ignore_errors=True)
        logs.mkdir(parents=True)
        # The first run builds the wheel from this checkout (site.yml's own build step). The
        # later runs bring the very wheel it installed, so an edit to the checkout meanwhile
        # cannot count as a change (the same sources build the same bytes anyway).
        first = _playbook("first", inventory, logs, *PIPELINING)
        for root in (audio, display, hub):
            root.save_caches()
        pinned = _pin_installed_software(audio, work / "software")
        result = Conference(audio, display, hub, inventory, logs, pinned, redis_port)
        result.runs["first"] = first
        result.runs["second"] = _playbook("second", inventory, logs, *PIPELINING, *pinned)
        result.runs["check"] = _playbook(
            "check", inventory, logs, *PIPELINING, "--check", "--diff", *pinned
        )
        lines = [f"conference: base root {base_s:.1f} s ({'; '.join(notes)})"]
        lines += [_recap_line(run) for run in result.runs.values()]
        lines.append(f"conference: converged in {time.monotonic() - started:.1f} s")
        report(config, "\n".join(lines))
        try:
            yield result
        finally:
            lines = [f"conference: later run {run.name} {run.seconds} s" for run in result.later]
            kept = " (kept)" if keep else ""
            lines.append(
                f"conference: total {time.monotonic() - started:.1f} s; roots in {work}{kept}"
            )
            report(config, "\n".join(lines))

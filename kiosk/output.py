"""``python3 -m kiosk.output [--mode 1920x1080] [--rotation 90] -- BROWSER …``: set the screen's
mode and rotation inside the cage session, then become the browser.

cage runs this as its client: ``WAYLAND_DISPLAY`` is cage's, so ``wlr-randr`` can change the
output (cage 0.1.5 and later implement wlr-output-management; Raspberry Pi OS Trixie has 0.2).
Whatever fails here (no wlr-randr, an older cage, a screen without the mode) is logged and the
browser starts anyway: a wrong resolution is better than a black screen. The DevTools pipe of
the watchdog (fds 3 and 4) passes through the ``exec`` unchanged.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence

from kiosk.output_plan import parse_wanted_mode, parse_wlr_randr, plan

log = logging.getLogger("edge-kiosk-output")
WLR_RANDR_TIMEOUT_S = 10


def apply(mode: str, rotation: int, wlr_randr: str | None = None) -> list[list[str]]:
    """Change the outputs as planned; returns the commands run (empty when nothing to do)."""
    wanted = parse_wanted_mode(mode)
    if wanted is None and rotation == 0:
        return []
    tool = wlr_randr or shutil.which("wlr-randr")
    if tool is None or not os.environ.get("WAYLAND_DISPLAY"):
        log.warning("wlr-randr or a Wayland session is missing: output left as the screen chose")
        return []
    listing = subprocess.run(
        [tool], capture_output=True, text=True, timeout=WLR_RANDR_TIMEOUT_S, check=False
    )
    if listing.returncode != 0:
        log.warning("wlr-randr cannot list outputs (%s): left as they are", listing.stderr.strip())
        return []
    outputs = parse_wlr_randr(listing.stdout)
    commands = plan(outputs, wanted, rotation)
    for args in commands:
        done = subprocess.run(
            [tool, *args], capture_output=True, text=True, timeout=WLR_RANDR_TIMEOUT_S, check=False
        )
        level = logging.INFO if done.returncode == 0 else logging.WARNING
        log.log(
            level, "wlr-randr %s: exit %d %s", " ".join(args), done.returncode, done.stderr.strip()
        )
    if wanted is not None and not any("--mode" in c for c in commands):
        log.info("outputs %s: %dx%d not offered or already set", [o.name for o in outputs], *wanted)
    return commands


def main(argv: Sequence[str] | None = None) -> None:
    """Set the output, then exec the browser command given after ``--``."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python3 -m kiosk.output")
    parser.add_argument("--mode", default="1920x1080", help="WIDTHxHEIGHT, empty: the screen's")
    parser.add_argument("--rotation", default="0", help="0, 90, 180 or 270 degrees clockwise")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the browser command after --")
    try:
        apply(args.mode, int(args.rotation or 0))
    except (ValueError, OSError, subprocess.SubprocessError) as exc:
        log.error("output not changed: %s", exc)
    os.execvp(command[0], command)  # noqa: S606 (the unit's own browser command)


if __name__ == "__main__":
    main()

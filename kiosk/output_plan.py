"""The display's output mode and rotation, planned from what ``wlr-randr`` lists. Pure.

A 4K television offers 3840x2160 as its preferred mode, and a Raspberry Pi 4 would then render
Chromium at four times the pixels of 1080p. The kiosk asks for ``display_node_output_mode``
(1920x1080 by default) *when the screen offers it* (at the best refresh rate up to 60 Hz), and
keeps the screen's own choice otherwise; ``rotation`` turns the picture for a monitor mounted on
its side or upside down.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TRANSFORMS = {0: "normal", 90: "90", 180: "180", 270: "270"}
"""Rotation in degrees (clockwise) to wlr-randr's ``--transform`` value."""

_MODE = re.compile(r"^\s+(\d+)x(\d+) px, ([\d.]+) Hz(?: \(([^)]*)\))?\s*$")
_OUTPUT = re.compile(r"^(\S+)(?: \"(.*)\")?\s*$")
_WANTED = re.compile(r"^(\d{3,5})x(\d{3,5})$")


@dataclass(frozen=True)
class Mode:
    """One mode an output offers."""

    width: int
    height: int
    refresh_hz: float
    current: bool = False

    def argument(self) -> str:
        """wlr-randr's ``--mode`` value, e.g. ``1920x1080@60.000000Hz``."""
        return f"{self.width}x{self.height}@{self.refresh_hz:.6f}Hz"


@dataclass(frozen=True)
class Output:
    """One output (connector) and its modes."""

    name: str
    description: str = ""
    modes: tuple[Mode, ...] = field(default_factory=tuple)


def parse_wlr_randr(text: str) -> list[Output]:
    """The outputs in ``wlr-randr``'s plain listing (unknown lines are skipped)."""
    outputs: list[Output] = []
    name: str | None = None
    description = ""
    modes: list[Mode] = []
    in_modes = False
    for line in text.splitlines():
        if line and not line[0].isspace():
            if name is not None:
                outputs.append(Output(name, description, tuple(modes)))
            match = _OUTPUT.match(line)
            name = match.group(1) if match else None
            description = (match.group(2) or "") if match else ""
            modes, in_modes = [], False
            continue
        stripped = line.strip()
        if stripped.endswith(":"):
            in_modes = stripped == "Modes:"
            continue
        if ":" in stripped and not stripped[0].isdigit():
            in_modes = False
            continue
        found = _MODE.match(line)
        if in_modes and found:
            flags = found.group(4) or ""
            modes.append(
                Mode(
                    int(found.group(1)),
                    int(found.group(2)),
                    float(found.group(3)),
                    current="current" in flags,
                )
            )
    if name is not None:
        outputs.append(Output(name, description, tuple(modes)))
    return outputs


def parse_wanted_mode(value: str) -> tuple[int, int] | None:
    """``"1920x1080"`` to (1920, 1080); ``""`` is None (the screen's own choice); anything else
    raises ValueError with a clear message."""
    if value.strip() == "":
        return None
    match = _WANTED.match(value.strip())
    if match is None:
        raise ValueError(f"output mode must look like 1920x1080 (or be empty), not {value!r}")
    return int(match.group(1)), int(match.group(2))


def choose_mode(output: Output, wanted: tuple[int, int]) -> Mode | None:
    """The offered mode of that size with the best refresh up to 60 Hz (else the lowest above),
    or None when the screen does not offer the size."""
    same = [m for m in output.modes if (m.width, m.height) == wanted]
    if not same:
        return None
    upto60 = [m for m in same if m.refresh_hz <= 60.5]
    return (
        max(upto60, key=lambda m: m.refresh_hz) if upto60 else min(same, key=lambda m: m.refresh_hz)
    )


def plan(outputs: list[Output], wanted: tuple[int, int] | None, rotation: int) -> list[list[str]]:
    """The ``wlr-randr`` argument lists to run, one per output that needs a change."""
    if rotation not in TRANSFORMS:
        raise ValueError(f"rotation must be 0, 90, 180 or 270, not {rotation!r}")
    commands = []
    for output in outputs:
        args = ["--output", output.name]
        mode = choose_mode(output, wanted) if wanted is not None else None
        if mode is not None and not mode.current:
            args += ["--mode", mode.argument()]
        if rotation != 0:
            args += ["--transform", TRANSFORMS[rotation]]
        if len(args) > 2:
            commands.append(args)
    return commands

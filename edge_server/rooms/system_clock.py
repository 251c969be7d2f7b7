"""Is the system clock synchronized? Asked of the kernel with ``adjtimex(2)`` (read only).

Why the kernel and not ``timedatectl``: ``adjtimex`` is what ``timedatectl``'s
``NTPSynchronized`` itself reads (the kernel's ``STA_UNSYNC`` flag, which makes the call return
``TIME_ERROR``); it is set by whichever NTP client runs (systemd-timesyncd, chrony, ntpd), costs
one system call, needs no D-Bus and no subprocess, and also works in a container.
``/run/systemd/timesync/synchronized`` exists only with timesyncd. A Pi has no real-time clock:
until an NTP client has synchronized it, it runs from the last saved time.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from pathlib import Path

from edge_server.core.clock_steps import ClockStep, parse_steps

log = logging.getLogger(__name__)
STEPS_FILE = "clock-steps.jsonl"
"""In the state folder: the clock steps seen when the clock became synchronized."""

TIME_ERROR = 5
"""``adjtimex`` returns this while the clock is not synchronized (``STA_UNSYNC``)."""
_TIMEX_BYTES = 512
"""Room for ``struct timex`` (208 bytes on 64-bit Linux); ``modes`` = 0 at its start: read only."""
_STATES = {0: "TIME_OK", 1: "TIME_INS", 2: "TIME_DEL", 3: "TIME_OOP", 4: "TIME_WAIT"}


def _adjtimex() -> int:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    buffer = ctypes.create_string_buffer(_TIMEX_BYTES)  # zeroed: modes = 0 changes nothing
    result: int = libc.adjtimex(buffer)
    if result < 0:
        raise OSError(ctypes.get_errno(), "adjtimex failed")
    return result


def clock_state() -> tuple[bool | None, str]:
    """``(synchronized, detail)``; ``(None, why)`` where the kernel cannot be asked."""
    try:
        state = _adjtimex()
    except (OSError, AttributeError) as exc:
        return None, f"adjtimex unavailable: {exc}"
    if state == TIME_ERROR:
        return False, "kernel: not synchronized (adjtimex TIME_ERROR); is an NTP client running?"
    return True, f"kernel: synchronized (adjtimex {_STATES.get(state, state)})"


def load_steps(state_dir: Path) -> list[ClockStep]:
    """The clock steps saved in ``state_dir`` (none when the file is missing or unreadable)."""
    try:
        text = (state_dir / STEPS_FILE).read_text()
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("cannot read %s: %s", state_dir / STEPS_FILE, exc)
        return []
    return parse_steps(text.splitlines())


def save_step(state_dir: Path, step: ClockStep) -> None:
    """Append a step to the steps file (a failure is logged: the step stays in memory)."""
    path = state_dir / STEPS_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as file:
            file.write(step.to_json() + "\n")
    except OSError as exc:
        log.error("cannot save the clock step to %s: %s", path, exc)

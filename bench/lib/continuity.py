"""Audio continuity from the server's side, the pure part: readings of "seconds of audio received
so far" against the wall clock, turned into what was lost or late. No I/O: readings in, figures
out.

A node that keeps up delivers one second of audio per second of wall time; audio it fails to
capture (an overflow in the sound server, blocks dropped in the node) never arrives, so the
received total falls behind the wall clock for good (the *shortfall*); audio held up in the
node's buffer and sent later shows as being *behind* for a while, then catching up.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

TOLERANCE_S = 0.3
"""A shortfall this small is none: the server reports tenths of a second, and a 100 ms frame
may be in flight at either end."""


def continuity(
    readings: Sequence[tuple[float, float]], tolerance_s: float = TOLERANCE_S
) -> dict[str, Any]:
    """Figures from ``(wall seconds, audio seconds received)`` readings taken in order.

    ``wall_s``/``received_s``: the span of both between the first and last reading;
    ``shortfall_s`` = wall - received, and ``lost`` when it is above ``tolerance_s``;
    ``max_behind_s``: the most the received audio trailed
    the wall clock since the first reading; ``longest_stall_s``: the longest span over which
    the received total did not grow.
    """
    if len(readings) < 2:
        raise ValueError("continuity needs at least two readings")
    wall0, audio0 = readings[0]
    wall_s = readings[-1][0] - wall0
    received_s = readings[-1][1] - audio0
    behind = max(0.0, *((w - wall0) - (a - audio0) for w, a in readings))
    stall, longest = readings[0][0], 0.0
    for (_, before), (wall, after) in itertools.pairwise(readings):
        if after > before:
            stall = wall
        longest = max(longest, wall - stall)
    shortfall = wall_s - received_s
    return {
        "wall_s": round(wall_s, 2),
        "received_s": round(received_s, 2),
        "shortfall_s": round(shortfall, 2),
        "shortfall_percent": round(100.0 * shortfall / wall_s, 2) if wall_s else None,
        "lost": shortfall > tolerance_s,
        "max_behind_s": round(behind, 2),
        "longest_stall_s": round(longest, 2),
    }

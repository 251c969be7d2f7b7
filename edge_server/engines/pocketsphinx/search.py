"""The embedded recognizer's speed ladder: pocketsphinx search settings, most accurate first.

Measured on the LibriVox set (five recordings, four passes, 284 words, streamed through the
endpointer with partials as the worker does; CPU seconds per second of audio on one x86 core,
about three times a Raspberry Pi 4 core; ``python -m bench.procs.searchsweep`` prints them):

============  =====================================================  ===========  =====
step          settings (beyond pocketsphinx's defaults)              CPU / audio  WER
============  =====================================================  ===========  =====
``classic``   none: a second ``fwdflat`` pass at each utterance end  0.16         0.289
``accurate``  no ``fwdflat`` pass, ``maxhmmpf`` 3000, ``maxwpf`` 10  0.071        0.250
``fast``      and frame downsampling ``ds`` 2, ``topn`` 2,           0.047        0.236
              ``maxhmmpf`` 2000, ``maxwpf`` 5
``fastest``   as ``fast`` with ``maxhmmpf`` 1000                     0.035        0.299
============  =====================================================  ===========  =====

On 284 words the WERs of ``accurate`` and ``fast`` are within noise of each other (a few
words); over the Pi-budget benchmark's 10-minute talk (1,322 words) ``accurate`` scored 0.252.
The CPU figures move by a third with other load on the machine; their ratios hold.

The second pass cost most and, on streamed utterances, did not help: it re-searches the whole
utterance when it ends, which is also a burst of CPU exactly when the caption is due (0.3 s of
CPU here, 1.5 s at a Pi budget). ``classic`` stays selectable for comparison; the ladder the
room adapts over is :data:`LADDER`. ``fastest`` is an emergency step: it keeps captions timely
at a clear cost in accuracy (a milder one, ``maxhmmpf`` 1500, was hardly faster than ``fast``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SearchProfile:
    """One named set of pocketsphinx decoder settings."""

    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments for ``pocketsphinx.Decoder`` (beyond the model paths)."""


CLASSIC = SearchProfile("classic")
ACCURATE = SearchProfile("accurate", {"fwdflat": False, "maxhmmpf": 3000, "maxwpf": 10})
FAST = SearchProfile("fast", {"fwdflat": False, "maxhmmpf": 2000, "maxwpf": 5, "ds": 2, "topn": 2})
FASTEST = SearchProfile(
    "fastest", {"fwdflat": False, "maxhmmpf": 1000, "maxwpf": 5, "ds": 2, "topn": 2}
)
LADDER: tuple[SearchProfile, ...] = (ACCURATE, FAST, FASTEST)
"""The steps the room adapts over, most accurate first."""
PROFILES = {p.name: p for p in (CLASSIC, *LADDER)}
CHOICES = ("adaptive", *PROFILES)
"""Values of the ``offline_search`` setting: adapt over :data:`LADDER`, or one fixed profile."""


def ladder_for(choice: str) -> tuple[SearchProfile, ...]:
    """The profiles a room may use for an ``offline_search`` choice (one, unless adaptive)."""
    if choice == "adaptive":
        return LADDER
    try:
        return (PROFILES[choice],)
    except KeyError:
        raise ValueError(f"offline_search {choice!r} is not one of {', '.join(CHOICES)}") from None

"""Resend in flight: the audio last sent, and what of it to send again after a reconnect. Pure.

When a link dies, the last second or so of audio the node sent is in socket buffers on a
connection that will never deliver it. :class:`SentHistory` keeps the last few seconds sent
(bounded, ``EDGE_AUDIO_RESEND_SECONDS``); after the next ``ready``, :func:`plan_resend` decides
whether to offer them again, with their positions, before the audio buffered meanwhile. The
server drops what it already had (``docs/protocol.md``, "Positions and resending").
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from edge_audio.link.buffer import Positioned
from edge_server.contract.audio_format import BYTES_PER_SAMPLE, BYTES_PER_SECOND


class SentHistory:
    """The newest frames sent, at most ``max_bytes`` of audio (0 keeps none)."""

    def __init__(self, max_bytes: int) -> None:
        """Raises ValueError if ``max_bytes`` is negative."""
        if max_bytes < 0:
            raise ValueError(f"max_bytes must not be negative, not {max_bytes}")
        self.max_bytes = max_bytes
        self._frames: deque[Positioned] = deque()
        self._bytes = 0

    def __len__(self) -> int:
        """Frames held."""
        return len(self._frames)

    @property
    def seconds(self) -> float:
        """Audio held, in seconds."""
        return self._bytes / BYTES_PER_SECOND

    @property
    def end(self) -> int | None:
        """The stream position just after the newest frame held (None: none held)."""
        if not self._frames:
            return None
        position, frame = self._frames[-1]
        return position + len(frame) // BYTES_PER_SAMPLE

    def record(self, position: int, frame: bytes) -> None:
        """``frame`` (at ``position``) is being sent; the oldest frames go to keep the bound."""
        if len(frame) > self.max_bytes:
            return
        self._frames.append((position, frame))
        self._bytes += len(frame)
        while self._bytes > self.max_bytes:
            _, old = self._frames.popleft()
            self._bytes -= len(old)

    def take(self) -> list[Positioned]:
        """Every frame held, oldest first, and forget them."""
        frames = list(self._frames)
        self._frames.clear()
        self._bytes = 0
        return frames


@dataclass(frozen=True)
class ResendPlan:
    """What a new connection does about the audio sent on the ones before."""

    positions: bool
    """Send ``position`` messages on this connection (the server knows about streams)."""
    resend: list[Positioned]
    """Frames to send again, oldest first, before the buffered ones."""
    why: str
    """One line for the log."""


def plan_resend(
    history: list[Positioned], stream: str, echoed: str | None, received: int | None
) -> ResendPlan:
    """Decide from ``ready``: ``echoed`` is the stream id the server repeated (None: it does not
    know positions, an older server), ``received`` where its audio of this stream ends (None:
    it has none, or restarted and remembers nothing).

    Only a server that has this stream gets the history again: it drops what it has. A server
    without a record of it cannot tell, and captions already shown would be repeated; it gets
    the buffered audio only, as an older server does.
    """
    if echoed != stream:
        return ResendPlan(False, [], "the server does not take positions: nothing resent")
    if received is None:
        return ResendPlan(True, [], "the server has none of this stream: nothing resent")
    seconds = sum(len(frame) for _, frame in history) / BYTES_PER_SECOND
    if not history:
        return ResendPlan(True, [], f"the server has this stream up to sample {received}")
    return ResendPlan(
        True,
        history,
        f"resending the last {seconds:.1f} s sent (from sample {history[0][0]}); "
        f"the server has this stream up to sample {received}",
    )

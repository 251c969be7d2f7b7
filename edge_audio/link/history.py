"""Resend in flight: the audio last sent, and what of it to send again after a reconnect. Pure.

When a link dies, the last second or so of audio the node sent is in socket buffers on a
connection that will never deliver it. :class:`SentHistory` keeps the last few seconds sent
(bounded, ``EDGE_AUDIO_RESEND_SECONDS``); after the next ``ready``, :func:`plan_resend` decides
whether to offer them again, with their positions, before the audio buffered meanwhile. The
server drops what it already had (``docs/protocol.md``, "Positions and resending"); a server
that restarted gets what follows the last ``final`` the node saw.
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
    history: list[Positioned],
    stream: str,
    echoed: str | None,
    received: int | None,
    finalized: int | None = None,
) -> ResendPlan:
    """Decide from ``ready``: ``echoed`` is the stream id the server repeated (None: it does not
    know positions, an older server), ``received`` where its audio of this stream ends (None:
    it has none, or restarted with no final of it on disk); ``finalized`` is where the audio of
    the last ``final`` the node was sent ends (its ``stream_end``).

    A server that has this stream gets the whole history again: it drops what it has. One
    without a record of it (it restarted) gets what comes after the last final the node saw:
    the sentence it was recognizing when it went, and what was in flight; what it had
    finalized is not repeated. Without a final to go by, nothing is resent.
    """
    if echoed != stream:
        return ResendPlan(False, [], "the server does not take positions: nothing resent")
    if received is None:
        if finalized is None:
            return ResendPlan(True, [], "the server has none of this stream: nothing resent")
        history = _after(history, finalized)
        if not history:
            return ResendPlan(True, [], "the server has none of this stream: nothing to resend")
        return ResendPlan(
            True,
            history,
            f"the server has none of this stream (restarted?): resending "
            f"{_seconds(history):.1f} s after the last final (sample {finalized})",
        )
    if not history:
        return ResendPlan(True, [], f"the server has this stream up to sample {received}")
    return ResendPlan(
        True,
        history,
        f"resending the last {_seconds(history):.1f} s sent (from sample {history[0][0]}); "
        f"the server has this stream up to sample {received}",
    )


def _after(history: list[Positioned], sample: int) -> list[Positioned]:
    """The audio of ``history`` from ``sample`` on (a frame across it is cut there)."""
    kept: list[Positioned] = []
    for position, frame in history:
        end = position + len(frame) // BYTES_PER_SAMPLE
        if end <= sample:
            continue
        if position < sample:
            frame = frame[(sample - position) * BYTES_PER_SAMPLE :]
            position = sample
        kept.append((position, frame))
    return kept


def _seconds(frames: list[Positioned]) -> float:
    return sum(len(frame) for _, frame in frames) / BYTES_PER_SECOND

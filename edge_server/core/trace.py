"""A hook into the room pipeline's steps, for measuring where a caption's time goes. Pure.

The application takes an optional :data:`PipelineTrace` (``create_app(..., trace=...)``) and
calls it, synchronously, at each :class:`Stage` with what passes that step. The benchmark's
stage breakdown (``bench/``) uses it; the product passes None and pays one ``is None`` test per
step. A trace must be cheap and must not raise.
"""

from __future__ import annotations

import enum
from collections.abc import Callable


class Stage(enum.Enum):
    """A step of the pipeline, with what the trace receives there."""

    FRAME_IN = "frame_in"
    """An audio frame is handed to the room's session (the PCM bytes)."""
    WRITE_START = "write_start"
    """A final is about to be written to the transcript (the record)."""
    WRITE_DONE = "write_done"
    """The final is on disk, fsync'ed when configured (the record)."""
    PUBLISHED = "published"
    """Fan-out of a message to the subscribers starts (its JSON text)."""
    SENT = "sent"
    """A message was written to one subscriber's socket (its text, or speech as bytes)."""


PipelineTrace = Callable[[Stage, object], None]
"""Called at each stage with the stage and what passes it."""

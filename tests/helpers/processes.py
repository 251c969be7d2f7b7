"""Commands the tests run as child processes."""

from __future__ import annotations

import sys

EDGE_AUDIO = [sys.executable, "-m", "edge_audio.cli"]
"""``edge-audio`` as a child of this Python."""

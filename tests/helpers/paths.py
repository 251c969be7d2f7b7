"""Where things are: the repository and the test fixtures."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
"""The repository (scripts, caches, ``PYTHONPATH`` of child processes)."""
FIXTURES = ROOT / "tests" / "fixtures"
"""Recorded inputs from real systems (tests/fixtures/audio/README.md)."""

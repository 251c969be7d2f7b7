"""How a figure is written in the table and the doc: ``-`` for none, floats as ``%g``."""

from __future__ import annotations

from typing import Any


def num(value: Any) -> str:
    """``value`` as text: ``-`` if None, a float without trailing zeros, anything else as is."""
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)

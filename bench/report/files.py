"""Writing the report: docs/performance.md (with the table) and its plots, from the results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.report import plots
from bench.report.doc import document
from bench.report.table import table

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "performance.md"
PLOTS = ROOT / "docs" / "performance"


def write(results: dict[str, Any]) -> list[str]:
    """Plots and docs/performance.md; the paths written."""
    PLOTS.mkdir(parents=True, exist_ok=True)
    written = []
    drawings = (
        ("pipeline", plots.pipeline_plot),
        ("listeners", plots.listeners_plot),
        ("resources", plots.resources_plot),
        ("compare", plots.compare_plot),
    )
    for key, draw in drawings:
        if key in results:
            path = PLOTS / f"{key}.png"
            draw(results[key], path)
            written.append(str(path.relative_to(ROOT)))
    DOC.write_text(document(results, table(results)))
    written.append(str(DOC.relative_to(ROOT)))
    return written

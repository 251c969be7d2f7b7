"""What the benchmark reports: the terminal table, docs/performance.md and its plots.

:mod:`~bench.report.table` (the table, and writing the doc and plots),
:mod:`~bench.report.plots` (the PNG plots), :mod:`~bench.report.doc` (the doc's head, targets
and layout) and :mod:`~bench.report.sections` (its per-part sections).
"""

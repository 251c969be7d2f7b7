"""What the benchmark reports: the terminal table, docs/performance.md and its plots.

:mod:`~bench.report.files` (writes the doc and the plots), :mod:`~bench.report.table` (the
table), :mod:`~bench.report.plots` (the PNG plots), :mod:`~bench.report.doc` (the doc's head,
targets and order), :mod:`~bench.report.sections` (its per-part sections) and
:mod:`~bench.report.fmt` (how a figure is written).
"""

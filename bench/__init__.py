"""Benchmarks of room captions: ``python -m bench [--quick]`` (see docs/performance.md).

:mod:`bench.run` drives the measured parts of :mod:`bench.parts`, which start the processes of
:mod:`bench.procs` (the server under test, load generators) built from :mod:`bench.lib`;
:mod:`bench.report` prints the table and writes the doc and plots. :mod:`bench.standalone`
holds the benchmarks run as scripts, :mod:`bench.reference` the reference design compared
against.
"""

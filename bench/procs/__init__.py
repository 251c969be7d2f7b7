"""The processes the parts start, each run as ``python -m bench.procs.X``.

:mod:`~bench.procs.serve` (the server under test) and the load generators:
:mod:`~bench.procs.load` (pipeline overhead), :mod:`~bench.procs.loadlisten` (listeners with
speech) and :mod:`~bench.procs.loadcloud` (real speech, and the cloud comparison). A load
generator prints one JSON object; the server prints ``READY <port>``.
"""

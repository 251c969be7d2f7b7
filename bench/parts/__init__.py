"""The measured parts of ``python -m bench``, one module each, each with ``measure(quick, log)``.

:mod:`~bench.parts.pipeline` (audio frame -> caption at every subscriber, with
:mod:`~bench.parts.stages`, the steps inside the server), :mod:`~bench.parts.listeners`
(phones receiving text and speech), :mod:`~bench.parts.resources` (CPU per room-hour and
memory) and :mod:`~bench.parts.compare` (the reference design side by side). They start the
processes of :mod:`bench.procs` and read their JSON.
"""

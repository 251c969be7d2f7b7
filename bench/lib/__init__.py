"""Building blocks shared by the parts and their processes.

:mod:`~bench.lib.engines` (deterministic recognizer, translator and synthesizer),
:mod:`~bench.lib.wsraw` and :mod:`~bench.lib.wsstamp` (cheap WebSocket clients, the second
stamped by the kernel), :mod:`~bench.lib.loadgen` (subscribers, audio sources, a paced clock),
:mod:`~bench.lib.cloudfake` (the local Transcribe fake for cloud rooms),
:mod:`~bench.lib.procstat` (figures from ``/proc``) and :mod:`~bench.lib.spawn` (starting and
stopping child processes).
"""

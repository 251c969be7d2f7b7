"""Building blocks shared by the parts and their processes.

:mod:`~bench.lib.engines` (deterministic recognizer, translator and synthesizer),
:mod:`~bench.lib.wsraw` and :mod:`~bench.lib.wsstamp` (cheap WebSocket clients, the second
stamped by the kernel), :mod:`~bench.lib.loadgen` (subscribers, audio sources, a paced clock),
:mod:`~bench.lib.cloudfake` (the local Transcribe fake for cloud rooms),
:mod:`~bench.lib.procstat` (figures from ``/proc``), :mod:`~bench.lib.spawn` (starting and
stopping child processes), :mod:`~bench.lib.cpuquota` (a Pi-sized CPU quota through cgroups);
for voice to screen :mod:`~bench.lib.speechref` (speech with forced-aligned word timings),
:mod:`~bench.lib.kioskwatch` (the kiosk in Chromium, stamping caption changes) and the pure
:mod:`~bench.lib.wordtiming` (words matched into latencies); for the audio node the pure
:mod:`~bench.lib.continuity` (received audio against the wall clock).
"""

"""The measured parts of ``python -m bench``, one module each, each with ``measure(quick, log)``.

:mod:`~bench.parts.pipeline` (audio frame -> caption at every subscriber, with
:mod:`~bench.parts.stages`, the steps inside the server), :mod:`~bench.parts.listeners`
(phones receiving text and speech), :mod:`~bench.parts.resources` (CPU per room-hour and
memory), :mod:`~bench.parts.compare` (the reference design side by side),
:mod:`~bench.parts.voice_screen` (spoken word -> kiosk in Chromium, at full speed and at the Pi
budget) and :mod:`~bench.parts.audio_budget` (the audio node in a Pi-sized CPU quota). They
start the processes of :mod:`bench.procs` and read their JSON.
"""

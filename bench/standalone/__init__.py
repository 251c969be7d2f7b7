"""Benchmarks run on their own, as scripts, outside ``python -m bench``.

``.venv/bin/python bench/standalone/transcribe_cpu.py`` (the plain Transcribe SDK against the
product's adapter: CPU and added latency) and ``.venv/bin/python
bench/standalone/edge_audio_cpu.py`` (``edge-audio run`` capturing 48 kHz stereo; the
resources part also runs it). Each prints its figures and writes JSON to ``bench/results/``.
"""

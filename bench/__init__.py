"""Benchmarks of room captions: ``python -m bench [--quick]`` (see docs/performance.md)."""

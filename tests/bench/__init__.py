"""The benchmark's smoke test."""

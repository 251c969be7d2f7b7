"""Tests of edge_audio.discovery (pure): device lists from real systems, ranked."""

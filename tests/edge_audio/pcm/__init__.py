"""Tests of edge_audio.pcm (pure): conversion, framing, pacing, level meter."""

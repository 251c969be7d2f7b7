"""Tests of edge_audio.link: the bounded outage buffer (pure)."""

"""Tests of edge_server.engines, one folder per engine."""

"""Tests of edge_server, one folder per package."""

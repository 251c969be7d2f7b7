"""Tests of edge_server.contract: the shared wire contract (pure, table-driven)."""

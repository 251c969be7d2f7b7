"""Tests of edge_server.core: the server's pure core (tables in, expectations out)."""

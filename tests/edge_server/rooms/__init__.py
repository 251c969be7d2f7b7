"""Tests of edge_server.rooms: room behaviour, mostly through a live server on 127.0.0.1."""

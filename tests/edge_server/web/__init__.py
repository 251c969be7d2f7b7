"""Tests of edge_server.web: HTTP and WebSocket endpoints of a live server on 127.0.0.1."""

"""Tests of edge_audio: settings, the node and the command line; the pure parts in pcm/, link/
and discovery/.
"""

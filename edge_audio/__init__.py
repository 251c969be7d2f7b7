"""edge_audio: the audio node. Reads sound (a file or a capture device), converts it to
16 kHz mono s16le and streams it to edge_server over a WebSocket."""

__version__ = "0.1.0"

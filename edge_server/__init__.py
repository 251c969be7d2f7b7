"""edge_server: the room pipeline (recognizer, translation, fan-out) as an aiohttp application."""

__version__ = "0.1.0"

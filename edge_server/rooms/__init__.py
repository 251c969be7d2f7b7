"""The room pipeline at run time: asyncio, files and engines, but no HTTP (no aiohttp).

- :mod:`.registry`: every room of the server, created on first use and reloaded from disk;
- :mod:`.room`: one room, joining the parts below; :mod:`.sources`: who is the room's audio
  source; :mod:`.audio_session`: one audio connection's trip through the recognizer;
- :mod:`.finals`: a final's way out (translate, write to disk, publish, speak);
- :mod:`.transcript`: the durable transcript (fsync before anything is shown);
- :mod:`.fanout`: bounded per-subscriber queues that never let a slow client stall the room;
- :mod:`.listener_speech`: one shared synthesis per room and language for listeners' phones;
- :mod:`.live_settings_store`: the tech lead's live changes, saved and loaded;
- :mod:`.status_views`: what the room shows of itself (``status`` messages, ``/healthz``,
  the status page).

The web adapters (:mod:`edge_server.web`) sit above this package; the pure decisions it acts
on live in :mod:`edge_server.core`.
"""

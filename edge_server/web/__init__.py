"""The HTTP and WebSocket side of the server: thin aiohttp adapters over the rooms.

- :mod:`.app`: ``create_app(settings)``, routes, background tasks, shutdown;
- :mod:`.ws_audio`: the audio node's uplink; :mod:`.ws_captions`: kiosks, phones and other
  caption subscribers;
- :mod:`.pages`: the HTML pages (room list, kiosk, listener, status);
- :mod:`.status_api`: the tech lead's ``/api/status`` and live settings; :mod:`.qr`: the
  listener page's URL and QR code; :mod:`.transcripts`: transcript exports;
  :mod:`.health`: ``/healthz``; :mod:`.metrics`: ``/metrics``;
- :mod:`.access`: tokens, Origin and attempt limits applied to requests; :mod:`.errors`: JSON
  refusals; :mod:`.app_keys`: typed application keys; :mod:`.open_sockets`: every open socket,
  for shutdown; :mod:`.systemd_lifecycle`: ``READY=1`` and the watchdog for ``Type=notify``.
"""

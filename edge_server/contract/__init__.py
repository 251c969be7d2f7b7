"""The shared wire contract between the two programs: the only part of ``edge_server`` that
``edge_audio`` imports (``make lint`` checks it).

Every module here is pure (no sockets, no event loop) except what both programs share with
systemd: the few lines of :class:`~edge_server.contract.systemd_notify.Notifier` that send a
datagram, :mod:`.journal_logging` (where log lines go) and :mod:`.systemd_binding` (finds
systemd-python):

- :mod:`.audio_format`: the uplink's audio (16 kHz mono s16le) and frame limits;
- :mod:`.uplink`: the uplink's messages and errors, parsed for the server, built for the client;
- :mod:`.uplink_server`: the server's side of one uplink as a state machine (messages in,
  events out);
- :mod:`.close_codes`: every WebSocket close code of both sockets;
- :mod:`.server_replies`: what a client makes of the server's replies (parse, fatal or retry);
- :mod:`.names`: validation of room names and language codes;
- :mod:`.urls`: server URL to WebSocket URLs; :mod:`.terminal_text`: captions as terminal lines;
- :mod:`.backoff`: retry timing with jitter; :mod:`.systemd_notify`: systemd's notify protocol;
- :mod:`.log_fields`: journal fields (``ROOM=``, ``SESSION=``...) bound to the logging code's
  context; :mod:`.journal_logging`: journald with those fields, or plain stderr.

See docs/protocol.md for the protocol these implement.
"""

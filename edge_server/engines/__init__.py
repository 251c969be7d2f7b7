"""Speech engines behind the interfaces of :mod:`edge_server.core.engine_api`, one subpackage
each; :mod:`.factory` builds a room's engines from its settings (cloud SDKs load only for rooms
that use them).

Pure modules (no I/O, no SDK; tested with tables) are marked *pure*:

- :mod:`.pocketsphinx`: the embedded offline recognizer in a worker process per room;
  ``worker_protocol`` *pure*; ``decoder`` (pocketsphinx), ``worker`` (the process),
  ``recognizer`` (its supervisor);
- :mod:`.transcribe`: Amazon Transcribe streaming without the SDK's busy loop; ``options``,
  ``results``, ``rotation`` *pure*; ``body``, ``crt_bridge``, ``client``, ``leg``, ``stream``,
  ``recognizer``;
- :mod:`.fallback`: a cloud recognizer with the embedded one behind it; ``policy`` *pure*,
  ``recognizer``;
- :mod:`.translate`: Amazon Translate (``translator``);
- :mod:`.polly`: Amazon Polly; ``options``, ``voices`` *pure*; ``errors``, ``synthesizer``;
- :mod:`.espeak`: Debian's espeak-ng as a local voice; ``voices`` *pure*, ``synthesizer``;
- :mod:`.aws`: what the AWS engines share; ``errors`` *pure* (failure classes), ``config``
  (regions, endpoints, credentials, boto3 clients).
"""

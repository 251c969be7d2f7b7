"""Amazon Transcribe streaming: ``options``, ``results``, ``rotation`` are pure; ``body`` (the
request body without the busy loop), ``crt_bridge``, ``client``, ``leg``, ``stream`` and
``recognizer`` are the adapter."""

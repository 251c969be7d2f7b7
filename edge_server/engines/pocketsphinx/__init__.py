"""pocketsphinx, the embedded offline recognizer: ``worker_protocol`` (pure framing), ``decoder``
(endpointing + decoding), ``worker`` (the process), ``recognizer`` (its supervisor)."""

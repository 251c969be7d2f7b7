"""espeak-ng as a local voice: ``voices`` (pure) picks the voice, ``synthesizer`` runs it."""

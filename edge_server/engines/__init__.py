"""Speech engines behind three small interfaces: recognizer, translator, synthesizer."""

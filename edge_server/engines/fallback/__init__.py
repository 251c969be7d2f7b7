"""Cloud engines with local ones behind them. The recognizer: ``policy`` (pure) decides when to
leave Transcribe for pocketsphinx and come back, ``recognizer`` carries it out. The voice:
``voice_policy`` (pure) decides when listeners hear espeak-ng instead of Polly, ``synthesizer``
carries it out."""

"""The cloud recognizer with the embedded one behind it: ``policy`` (pure) decides when to
leave and come back; ``recognizer`` carries it out."""

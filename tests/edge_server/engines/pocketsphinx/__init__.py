"""Tests of the embedded pocketsphinx recognizer."""

"""Tests of the fallback recognizer and its policy."""

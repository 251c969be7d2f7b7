"""Tests of the Amazon Translate translator."""

"""Tests of the Amazon Polly synthesizer."""

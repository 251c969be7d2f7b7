"""Tests of the Amazon Transcribe engine: its pure parts, the request body, and the recognizer
against the local HTTP/2 fake.
"""

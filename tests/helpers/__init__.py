"""Helpers shared by the tests and the fixtures (conftest.py holds only fixtures)."""

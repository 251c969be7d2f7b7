"""Tests of what the AWS engines share: failure classes and targets (pure)."""

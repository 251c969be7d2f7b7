"""A clean AWS environment for tests: dummy credentials, no real AWS anywhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ACCESS_KEY = "AKIDTESTFAKE0000000"
SECRET_KEY = "test-secret-not-real"


def isolate_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, credentials: bool = True) -> None:
    """Remove every AWS_* setting, point the shared files at nothing, set dummy credentials.

    Instance-metadata lookups are disabled, so a missing credential never leaves the machine.
    """
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    if credentials:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)

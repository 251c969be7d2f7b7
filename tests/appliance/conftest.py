"""The appliance modules' shared fixture: one converged conference per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.appliance.converged import Conference, converge_conference


@pytest.fixture(scope="session")
def conference(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Conference]:
    """An audio node, a display node and a hub converged in fresh Debian 13 roots (first run,
    second run, ``--check --diff``), shared by every appliance module (converged.py)."""
    yield from converge_conference(pytestconfig, tmp_path_factory.mktemp("conference"))

"""The `bench` marker: the benchmark smoke test runs by default; `pytest -m "not bench"` leaves it out."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "bench: runs the benchmark end to end in --quick mode (about two minutes); deselect with "
        "-m 'not bench'"
    )

"""Fixtures of the reliability suite."""

from __future__ import annotations

import pytest

from tests.support.receiver import Receiver


@pytest.fixture(scope="session")
def prefect_api_url(prefect_harness) -> str:
    """The session's Prefect test server, for child processes: each defwatch child talks to it
    instead of starting its own embedded server (saves 8-15 s per process on this machine)."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


@pytest.fixture(scope="module")
def module_receiver():
    r = Receiver()
    yield r
    r.stop()

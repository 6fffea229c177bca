"""Shared fixtures: a real local HTTP server, DuckDB files in tmp dirs, and one Prefect test server
per session (started only when a test runs a flow)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import flows.runtime.prefect_env  # noqa: F401  (offline Prefect defaults, before any prefect import)
from tests.support import httpserver

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def server():
    srv, thread = httpserver.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "test.duckdb"


@pytest.fixture(scope="session")
def prefect_harness():
    """A temporary Prefect API for real flow runs (about 10 s to start, once per session).

    Heartbeats are switched off: they add ~1 s to each flow run and test nothing of ours.
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120), \
            temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: shared project material is not checked out beside the repo")
    return SHARED


def pytest_configure(config):
    os.environ.setdefault("DEFWATCH_CONFIG", str(REPO / "tests" / "support" / "no-config.toml"))

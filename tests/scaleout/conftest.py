"""Fixtures for the scale-out tests: a fresh DuckLake per test on the local PostgreSQL.

Tests that need it skip, with the reason, where PostgreSQL at 127.0.0.1:5432 does not answer or
the DuckDB extension packages are not installed (CI here starts PostgreSQL: .ci/ensure-postgres.sh).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from warehouse import backend

CONNINFO = os.environ.get("DEFWATCH_TEST_PG", "dbname=test host=127.0.0.1 port=5432")


@pytest.fixture
def lake(tmp_path, monkeypatch) -> dict[str, str]:
    """Environment variables of a new, empty DuckLake (unique PostgreSQL schema and data folder),
    set in this process too; the schema is dropped afterwards."""
    why = backend.extensions_available() or backend.postgres_reachable(CONNINFO)
    if why:
        pytest.skip(f"DuckLake tests need PostgreSQL and the DuckDB extension packages: {why}")
    schema = f"dwtest_{uuid.uuid4().hex[:10]}"
    data = tmp_path / "lake-data"
    data.mkdir()
    env = {
        backend.WAREHOUSE_ENV: "ducklake",
        backend.CATALOG_ENV: f"postgres:{CONNINFO}",
        backend.DATA_PATH_ENV: str(data) + "/",
        backend.SCHEMA_ENV: schema,
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    yield env
    backend.close_pool()
    import psycopg

    with psycopg.connect(CONNINFO, autocommit=True) as pg:
        pg.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def lake_rows(sql: str) -> list[tuple]:
    from warehouse.db import read_connection

    with read_connection(Path("unused")) as con:
        return con.execute(sql).fetchall()

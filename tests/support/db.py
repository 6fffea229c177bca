"""Reading a test's DuckDB file back, read-only, to check what a run stored."""

from __future__ import annotations

from pathlib import Path

import duckdb


def query_rows(db: Path, sql: str) -> list[tuple]:
    """Every row of ``sql`` on a read-only connection to ``db``."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()

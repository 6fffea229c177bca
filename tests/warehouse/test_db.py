"""Connections and migrations on a real DuckDB file."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from warehouse import store
from warehouse.db import (SCHEMA_VERSION, DatabaseBusyError, WarehouseError, read_connection, schema_version,
                          transaction, write_connection)


def test_new_database_is_migrated_and_owner_only(db_path):
    with write_connection(db_path) as con:
        assert schema_version(con) == SCHEMA_VERSION
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    assert {"feeds", "feed_state", "articles", "article_feeds", "runs", "run_errors", "schema_version"} <= tables
    assert db_path.stat().st_mode & 0o777 == 0o600
    with write_connection(db_path) as con:  # migrating again is a no-op
        assert con.execute("SELECT count(*) FROM schema_version").fetchone()[0] == SCHEMA_VERSION


def test_read_connection_cannot_write(db_path):
    with write_connection(db_path):
        pass
    import duckdb

    with read_connection(db_path) as con, pytest.raises(duckdb.Error, match="read-only"):
        con.execute("DELETE FROM runs")


def test_missing_database_says_what_to_run(tmp_path):
    with pytest.raises(WarehouseError, match="Run `defwatch demo` or `defwatch ingest` first"):
        with read_connection(tmp_path / "none.duckdb"):
            pass


def test_a_writer_in_another_process_gives_a_clear_busy_error(db_path):
    with write_connection(db_path):
        pass
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,time; c=duckdb.connect({str(db_path)!r}); print('ok', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        started = time.monotonic()
        with pytest.raises(DatabaseBusyError) as exc:
            with read_connection(db_path, wait=1.0):
                pass
        assert time.monotonic() - started >= 1.0
        message = str(exc.value)
        assert f"process {holder.pid}" in message and "Could not set lock" not in message
    finally:
        holder.kill()
        holder.wait()


def test_transaction_rolls_back_everything_on_error(db_path):
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    with write_connection(db_path) as con:
        with pytest.raises(RuntimeError):
            with transaction(con):
                store.start_run(con, "r1", None, now)
                raise RuntimeError("killed half-way")
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 0


def test_bulk_insert_is_idempotent(db_path):
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    rows = [{"article_id": f"a{i}", "feed_name": "f", "first_seen": now} for i in range(1000)]
    with write_connection(db_path) as con:
        assert store.bulk_insert(con, "article_feeds", rows, ("article_id", "feed_name", "first_seen")) == 1000
        assert store.bulk_insert(con, "article_feeds", rows, ("article_id", "feed_name", "first_seen")) == 0


def test_a_read_upgrades_a_database_an_older_defwatch_wrote(db_path, monkeypatch):
    """After upgrading defwatch, `defwatch events --as-of` (a read) must not fail on a column the
    old schema lacks: the first read applies the missing migrations, then reads."""
    from datetime import date

    import duckdb

    from warehouse import db as wdb
    from warehouse import query as wq

    every = wdb._migrations()
    monkeypatch.setattr(wdb, "_migrations", lambda: [m for m in every if m[0] <= 4])
    with duckdb.connect(str(db_path)) as con:
        wdb.migrate(con)
        assert schema_version(con) == 4
        con.execute("INSERT INTO events (event_id, type, parties, parties_key, status, date, date_precision, "
                    "date_start, date_end, mention_count, first_seen, last_seen, updated_at) VALUES ('e1', "
                    "'summit', ['Canada', 'Japan'], 'Canada|Japan', 'planned', '2025-07', 'month', "
                    "DATE '2025-07-01', DATE '2025-07-31', 0, TIMESTAMPTZ '2025-06-01', TIMESTAMPTZ '2025-06-01', "
                    "TIMESTAMPTZ '2025-06-01')")
        con.execute("INSERT INTO event_history (event_id, learned_at, change, new_value, status, date, "
                    "date_precision, cause) VALUES ('e1', TIMESTAMPTZ '2025-06-01', 'created', 'planned', "
                    "'planned', '2025-07', 'month', 'ingest')")
    monkeypatch.setattr(wdb, "_migrations", lambda: every)
    rows = wq.run_query(db_path, *wq.events_sql(as_of="2025-06-02", columns=("event_id", "status", "date")))
    assert rows.rows == [("e1", "planned", "2025-07")]
    with read_connection(db_path) as con:
        assert schema_version(con) == SCHEMA_VERSION
        assert con.execute("SELECT type, parties_key, date_end, superseded_at FROM event_history").fetchall() == [
            ("summit", "Canada|Japan", date(2025, 7, 31), None)]

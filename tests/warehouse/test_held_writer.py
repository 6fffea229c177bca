"""The held write connection: kept across batches, handed over to another process that waits for
the file, on a real DuckDB file and a real second process."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime, timezone

import duckdb
import pytest

from warehouse import store
from warehouse.db import HeldWriter, transaction, wanted_flag

READER = """
import sys, time
from warehouse.db import read_connection
t = time.monotonic()
with read_connection(sys.argv[1], wait=20) as con:
    n = con.execute("SELECT count(*) FROM article_feeds").fetchone()[0]
print(n, round(time.monotonic() - t, 2))
"""


def _batch(con, k: int) -> None:
    now = datetime.now(timezone.utc)
    rows = [{"article_id": f"a{k}-{i}", "feed_name": "f", "first_seen": now} for i in range(10)]
    with transaction(con):
        store.bulk_insert(con, "article_feeds", rows, ("article_id", "feed_name", "first_seen"))


def test_a_waiting_reader_gets_in_between_two_batches(tmp_path):
    db = tmp_path / "held.duckdb"
    with HeldWriter(db) as writer:
        with writer.connection() as con:
            _batch(con, 0)
        reader = subprocess.Popen([sys.executable, "-c", READER, str(db)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        # "Batches" every 0.2 s, the connection held in between, until the reader has been served.
        k = 0
        while reader.poll() is None and k < 100:
            k += 1
            with writer.connection() as con:
                _batch(con, k)
            time.sleep(0.2)
        out, err = reader.communicate(timeout=30)
    assert reader.returncode == 0, err
    seen, waited = out.split()
    assert int(seen) >= 10            # it read what was committed before it got in
    assert float(waited) < 10          # served within a few batches, not after the writer's end
    assert writer.handovers >= 1
    assert not wanted_flag(db).exists()


def test_a_flag_nobody_takes_up_costs_one_wait_and_is_removed(tmp_path):
    db = tmp_path / "stale.duckdb"
    writer = HeldWriter(db, handover_s=0.2)
    with writer.connection() as con:
        _batch(con, 0)
    wanted_flag(db).touch()  # left by a process that gave up (or was killed)
    t = time.monotonic()
    with writer.connection() as con:
        _batch(con, 1)
    first = time.monotonic() - t
    t = time.monotonic()
    with writer.connection() as con:
        _batch(con, 2)
    second = time.monotonic() - t
    writer.release()
    assert writer.handovers == 1 and not wanted_flag(db).exists()
    assert first >= 0.2 and second < first


def test_an_error_inside_drops_the_connection(tmp_path):
    db = tmp_path / "err.duckdb"
    writer = HeldWriter(db)
    with pytest.raises(duckdb.BinderException, match="no_such_column"):
        with writer.connection() as con:
            con.execute("SELECT no_such_column FROM article_feeds")
    assert writer._con is None  # the next use opens a fresh connection
    with writer.connection() as con:
        _batch(con, 0)
        assert con.execute("SELECT count(*) FROM article_feeds").fetchone()[0] == 10
    writer.release()

"""`defwatch check`, `backup` and `restore` on real database files: findings one line each with
exit 1, a clean file exit 0, nothing ever written by check; a backup is refused over an existing
folder and while an ingest holds the database; restore refuses to replace a database without
--force, and what it restores passes check with the same rows."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import duckdb
import pytest

from tests.reliability.faults_support import file_hash, run_defwatch
from tests.reliability.support import SlowSampleServer, child_env, write_registry

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, prefect_api_url):
    tmp = tmp_path_factory.mktemp("maintenance")
    srv = SlowSampleServer().start()
    env = child_env(prefect_api_url, {"DEFWATCH_WORKERS": "1"})
    feeds = write_registry(tmp, srv.base_url)
    db = tmp / "events.duckdb"
    run = run_defwatch(["ingest", "--db", str(db), "--feeds", str(feeds), "--force"], env)
    assert run.returncode == 0, run.stderr[-3000:]
    yield {"db": db, "env": env, "feeds": feeds, "srv": srv, "tmp": tmp}
    srv.stop()


def _rows(db: Path) -> dict[str, list]:
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        return {t: sorted(map(repr, con.execute(f'SELECT * FROM "{t}"').fetchall())) for t in tables}


def test_check_of_a_clean_database_says_ok_and_changes_nothing(ingested):
    db = ingested["db"]
    before = file_hash(db)
    out = run_defwatch(["check", "--db", str(db)], ingested["env"])
    rows = sum(len(v) for v in _rows(db).values())
    assert out.returncode == 0 and out.leftovers == []
    assert out.lines == [f"{db}: ok: 15 tables read in full ({rows:,} rows, each block's checksum verified), "
                         f"schema version 7, no orphaned rows"]
    assert file_hash(db) == before


def test_check_lists_orphans_and_an_old_schema_one_line_each(ingested, tmp_path):
    db = tmp_path / "edited.duckdb"
    shutil.copy(ingested["db"], db)
    with duckdb.connect(str(db)) as con:
        (event_id, mentions) = con.execute(
            "SELECT event_id, count(*) FROM event_mentions GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1").fetchone()
        alerts = con.execute("SELECT count(*) FROM alerts WHERE event_id = ?", [event_id]).fetchone()[0]
        history = con.execute("SELECT count(*) FROM event_history WHERE event_id = ?", [event_id]).fetchone()[0]
        con.execute("DELETE FROM events WHERE event_id = ?", [event_id])
        con.execute("DELETE FROM schema_version WHERE version >= 6")
    assert mentions and alerts and history
    before = file_hash(db)
    out = run_defwatch(["check", "--db", str(db)], ingested["env"])
    assert out.returncode == 1 and out.leftovers == []
    assert out.lines == [
        f"{db}: schema version 5 is older than this defwatch's (7): any write command (defwatch ingest) upgrades it",
        f"{db}: {mentions:,} event mentions without their event",
        f"{db}: {history:,} event history rows without their event",
        f"{db}: {alerts:,} alerts without their event",
    ]
    assert file_hash(db) == before


def test_backup_and_restore_round_trip_and_refusals(ingested, tmp_path):
    db, env = ingested["db"], ingested["env"]
    folder = tmp_path / "backup"
    made = run_defwatch(["backup", str(folder), "--db", str(db)], env)
    assert made.returncode == 0 and made.leftovers == [], made.stderr
    assert made.lines[0].startswith(f"backed up {db} to {folder}: 15 tables, ")
    assert not folder.with_name("backup.partial").exists()
    assert all(stat.S_IMODE(p.stat().st_mode) & 0o077 == 0 for p in [folder, *folder.iterdir()]), "owner-only"
    again = run_defwatch(["backup", str(folder), "--db", str(db)], env)
    assert again.returncode == 2
    assert again.lines == [f"error: The backup folder {folder} already exists and is not empty; nothing was "
                           f"written. Give a new folder."]

    target = tmp_path / "restored.duckdb"
    restored = run_defwatch(["restore", str(folder), "--db", str(target)], env)
    assert restored.returncode == 0 and restored.leftovers == [], restored.stderr
    assert _rows(target) == _rows(db)
    assert stat.S_IMODE(target.stat().st_mode) & 0o077 == 0, "owner-only, like the original"
    checked = run_defwatch(["check", "--db", str(target)], env)
    assert checked.returncode == 0, checked.lines

    before = file_hash(target)
    refused = run_defwatch(["restore", str(folder), "--db", str(target)], env)
    assert refused.returncode == 2
    assert refused.lines == [f"error: The database {target} already exists; restore did not touch it. Pass --force "
                             f"to replace it (the current file is kept as restored.duckdb.before-restore), or "
                             f"restore to a new --db."]
    assert file_hash(target) == before
    not_a_backup = run_defwatch(["restore", str(tmp_path), "--db", str(tmp_path / "x.duckdb")], env)
    assert not_a_backup.returncode == 2 and not (tmp_path / "x.duckdb").exists()
    assert not_a_backup.lines == [f"error: {tmp_path} is not a defwatch backup (no schema.sql and "
                                  f"defwatch-backup.json); nothing was changed. Give a folder written by defwatch "
                                  f"backup."]

    # A restored database carries on like the original: the next ingest stores the same.
    for path in (db, target):
        out = run_defwatch(["ingest", "--db", str(path), "--feeds", str(ingested["feeds"]), "--force"], env)
        assert out.returncode == 0, out.stderr[-3000:]
    original, copy = _rows(db), _rows(target)
    for volatile in ("runs", "run_errors", "feed_state", "feeds"):   # timestamps and run ids of the new runs
        original.pop(volatile), copy.pop(volatile)
    assert copy == original


def test_backup_is_refused_while_an_ingest_holds_the_database(ingested, tmp_path):
    """The copy is consistent because nothing writes meanwhile: with an ingest holding the run
    lock, backup says so and exits 3 (after --wait seconds)."""
    from flows.runtime.runlock import run_lock

    db = ingested["db"]
    with run_lock(db):   # what a running ingest holds
        out = run_defwatch(["backup", str(tmp_path / "b"), "--db", str(db)], ingested["env"])
    assert out.returncode == 3 and len(out.lines) == 1 and out.lines[0].startswith("error: Another ingest run"), out.lines
    assert not (tmp_path / "b").exists() and not (tmp_path / "b.partial").exists()

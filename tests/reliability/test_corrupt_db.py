"""A damaged or foreign database file: every command says in one line what is wrong and what to do,
exits 2, starts no Prefect server and never changes the file; restoring a backup and running again
ends exactly like a run that never met the damage.

The files are real: a database written by `defwatch ingest`, then emptied, truncated, overwritten
in its header, its database headers or its catalog (metadata) block, or one of its tables' data
blocks; a SQLite database; a text file; a DuckDB database of something else."""

from __future__ import annotations

import random
import re
import shutil
import sqlite3
import struct
from pathlib import Path

import duckdb
import pytest

from tests.reliability.faults_support import file_hash, run_defwatch
from tests.reliability.support import SlowSampleServer, child_env, snapshot, write_registry

pytestmark = pytest.mark.flow

BLOCK = 262144          # DuckDB's block size (the default)
FIRST_BLOCK = 3 * 4096  # after the file header and the two database headers
NOT_DUCKDB = ("it is not a DuckDB database (its first bytes are not a DuckDB header: another kind of file, "
              "or a damaged header)")


def _garbage(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def _catalog_block(data: bytes) -> int:
    """Byte offset of the catalog's first metadata block, from the newer of the two database
    headers (each: checksum, iteration, meta block pointer, ...)."""
    headers = [struct.unpack_from("<QQ", data, off + 8) for off in (4096, 8192)]
    iteration, meta = max(headers)
    return FIRST_BLOCK + (meta & ((1 << 56) - 1)) * BLOCK


def _data_block(db: Path, table: str) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        (block,) = con.execute(f"SELECT max(block_id) FROM pragma_storage_info('{table}') WHERE block_id >= 0").fetchone()
    return FIRST_BLOCK + block * BLOCK


@pytest.fixture(scope="module")
def clean(tmp_path_factory, prefect_api_url):
    """One ingest of the demo feeds, its backup, and the server (kept for the runs after)."""
    tmp = tmp_path_factory.mktemp("corrupt")
    srv = SlowSampleServer().start()
    env = child_env(prefect_api_url, {"DEFWATCH_WORKERS": "1"})
    feeds = write_registry(tmp, srv.base_url)
    db = tmp / "clean.duckdb"
    run = run_defwatch(["ingest", "--db", str(db), "--feeds", str(feeds), "--force"], env)
    assert run.returncode == 0 and run.leftovers == [], run.stderr[-3000:]
    backup = tmp / "backup"
    done = run_defwatch(["backup", str(backup), "--db", str(db)], env)
    assert done.returncode == 0, done.stderr
    yield {"db": db, "feeds": feeds, "backup": backup, "env": env, "srv": srv, "tmp": tmp}
    srv.stop()


def _sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE articles (id TEXT)")
    con.commit()
    con.close()


def _foreign_duckdb(path: Path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE inventory (item VARCHAR, qty INTEGER)")
        con.execute("INSERT INTO inventory VALUES ('bolts', 3)")


CASES = {
    # name: (make the file from the clean bytes, the reason in the message; a regex where it holds sizes)
    "empty": (lambda data, path: path.write_bytes(b""), "the file is empty (0 bytes), not a DuckDB database"),
    "text": (lambda data, path: path.write_text("this is a note, not a database\n"), NOT_DUCKDB),
    "sqlite": (lambda data, path: _sqlite(path), "it is a SQLite database, not a DuckDB one"),
    "truncated": (lambda data, path: path.write_bytes(data[:len(data) // 2]),
                  re.compile(r"it is truncated \(DuckDB needs bytes up to [\d,]+, the file has (?P<size>[\d,]+)\)")),
    "garbage header": (lambda data, path: path.write_bytes(_garbage(4096, 1) + data[4096:]), NOT_DUCKDB),
    "garbage database headers": (lambda data, path: path.write_bytes(data[:4096] + _garbage(8192, 2) + data[12288:]),
                                 "it is damaged (the block at byte 4,096 fails its checksum)"),
}


def _expected_line(db: Path, reason: str) -> str:
    return (f"error: The database {db} cannot be used: {reason}. It was not changed. Restore a backup "
            f"(defwatch restore BACKUP_DIR --db {db} --force) or move the file aside to start a new database.")


def _assert_refused(db: Path, feeds: Path, reason, commands=("ingest", "query", "check")) -> None:
    """Each command: exit 2, exactly the one line, no process left behind, the file unchanged.
    No PREFECT_API_URL: had ingest reached Prefect, it would have started an embedded server."""
    env = child_env(None, {"DEFWATCH_WORKERS": "1"})
    before = file_hash(db)
    for command in commands:
        args = {"ingest": ["ingest", "--db", str(db), "--feeds", str(feeds), "--force"],
                "query": ["query", "--db", str(db), "select count(*) from articles"],
                "check": ["check", "--db", str(db)]}[command]
        out = run_defwatch(args, env)
        assert out.returncode == 2, (command, out.stdout, out.stderr[-2000:])
        assert out.leftovers == [], (command, out.leftovers)
        assert len(out.lines) == 1, (command, out.lines[:20])
        if isinstance(reason, re.Pattern):
            before_reason, after_reason = _expected_line(db, "REASON").split("REASON")
            m = re.fullmatch(re.escape(before_reason) + reason.pattern + re.escape(after_reason), out.lines[0])
            assert m, (command, out.lines[0])
            assert m.group("size") == f"{db.stat().st_size:,}"
        else:
            assert out.lines[0] == _expected_line(db, reason), command
        assert file_hash(db) == before, f"{command} changed the file"
        assert not db.with_name(db.name + ".wal").exists(), f"{command} left a write-ahead log"


@pytest.mark.parametrize("case", list(CASES))
def test_a_damaged_or_foreign_file_is_refused_in_one_line_and_left_unchanged(clean, tmp_path, case):
    make, reason = CASES[case]
    db = tmp_path / "events.duckdb"
    make(clean["db"].read_bytes(), db)
    _assert_refused(db, clean["feeds"], reason)


def test_garbage_in_the_catalog_is_refused_and_a_restored_backup_ends_like_a_clean_run(clean, tmp_path):
    data = clean["db"].read_bytes()
    at = _catalog_block(data)
    db = tmp_path / "events.duckdb"
    db.write_bytes(data[:at] + _garbage(BLOCK, 3) + data[at + BLOCK:])
    _assert_refused(db, clean["feeds"], f"it is damaged (the block at byte {at:,} fails its checksum)")

    # The fix the message names: restore the backup over it, then run again.
    env = clean["env"]
    restored = run_defwatch(["restore", str(clean["backup"]), "--db", str(db), "--force"], env)
    assert restored.returncode == 0 and restored.leftovers == [], restored.stderr
    assert restored.lines == [f"restored {db} from {clean['backup']}: 15 tables, "
                              f"{sum(_counts(clean['db']).values()):,} rows in "
                              f"{restored.lines[0].rsplit(' in ', 1)[1]}"]
    assert db.with_name(db.name + ".before-restore").read_bytes() != data, "the damaged file is kept aside"
    again = run_defwatch(["ingest", "--db", str(db), "--feeds", str(clean["feeds"]), "--force"], env)
    assert again.returncode == 0 and again.leftovers == [], again.stderr[-3000:]
    # The same second run on an undamaged copy of the clean database.
    reference = tmp_path / "reference.duckdb"
    shutil.copy(clean["db"], reference)
    ref = run_defwatch(["ingest", "--db", str(reference), "--feeds", str(clean["feeds"]), "--force"], env)
    assert ref.returncode == 0, ref.stderr[-3000:]
    base = clean["srv"].base_url
    assert snapshot(db, base).content() == snapshot(reference, base).content()
    assert snapshot(db, base).runs == snapshot(reference, base).runs


def test_a_damaged_table_is_found_by_check_and_named(clean, tmp_path):
    """Damage in a table's data block does not stop the file from opening (DuckDB reads blocks
    when a query needs them); `defwatch check` reads every table and names the damaged one."""
    data = clean["db"].read_bytes()
    at = _data_block(clean["db"], "articles")
    db = tmp_path / "events.duckdb"
    db.write_bytes(data[:at + 100] + _garbage(100, 4) + data[at + 200:])
    before = file_hash(db)
    out = run_defwatch(["check", "--db", str(db)], child_env(None))
    assert out.returncode == 2 and out.leftovers == []
    assert out.lines == [f"{db}: table articles is damaged (the block at byte {at:,} fails its checksum): restore a "
                         f"backup (defwatch restore BACKUP_DIR --db {db} --force)"]
    assert file_hash(db) == before


def test_a_duckdb_file_of_something_else_is_not_written_to(clean, tmp_path):
    db = tmp_path / "inventory.duckdb"
    _foreign_duckdb(db)
    before = file_hash(db)
    env = child_env(None)
    out = run_defwatch(["ingest", "--db", str(db), "--feeds", str(clean["feeds"])], env)
    assert out.returncode == 2 and out.leftovers == []
    assert out.lines == [f"error: The database {db} cannot be used: it is a DuckDB database of something else "
                         f"(tables: inventory; none of them defwatch's schema_version). It was not changed. Point "
                         f"--db at a defwatch database, or at a new file."]
    checked = run_defwatch(["check", "--db", str(db)], env)
    assert checked.returncode == 2
    assert checked.lines == [f"{db}: not a defwatch database: it has no schema_version table (tables: inventory)"]
    assert file_hash(db) == before


def _counts(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}

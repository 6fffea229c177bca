"""Disk full, on a real small file system (tmpfs, else a loop-mounted ext4 image; skipped, saying
why, where neither can be mounted): a full disk stops a run in one line before anything starts, a
disk that fills up during a run stops it between two batches (never inside DuckDB's commit, which
aborts the process), and once space is freed the next run ends exactly like a clean one."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.faults_support import file_hash, run_defwatch
from tests.reliability.support import SlowSampleServer, child_env, query_db, snapshot, write_registry

pytestmark = pytest.mark.flow
RESERVE_MB = 8
LEEWAY_KB = 60


@contextlib.contextmanager
def small_disk(where: Path, size_mb: int) -> Iterator[Path]:
    """A file system of ``size_mb`` mounted at ``where``, unmounted afterwards whatever happens."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root; run the suite as root to test a full disk")
    tried = []
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        tried.append(f"tmpfs: {mounted.stderr.strip()}")
        image = where.with_suffix(".img")
        with open(image, "wb") as f:
            f.truncate(size_mb << 20)
        made = subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], capture_output=True, text=True)
        mounted = subprocess.run(["mount", "-o", "loop", str(image), str(where)], capture_output=True, text=True) \
            if made.returncode == 0 else made
        if mounted.returncode != 0:
            tried.append(f"loop image: {mounted.stderr.strip()}")
            pytest.skip("cannot mount a small file system here (" + "; ".join(tried) + ")")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path, leave_bytes: int = 0) -> Path:
    """Write a filler file until only ``leave_bytes`` are free (0: exactly full)."""
    filler = disk / "filler"
    with open(filler, "wb") as f:
        chunk = 1 << 20
        while chunk:
            free = shutil.disk_usage(disk).free - leave_bytes
            if free <= 0:
                break
            try:
                f.write(b"\0" * min(chunk, free))
                f.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                chunk //= 2
    return filler


def _database_files(db: Path) -> list[Path]:
    """The database and its write-ahead log (not the run lock, which records the last holder's pid)."""
    return [p for p in (db, db.with_name(db.name + ".wal")) if p.exists()]


def _expected(db: Path, free: int) -> str:
    return (f"error: Not enough disk space for the database {db}: {free // 1024:,} KiB free, less than the "
            f"{RESERVE_MB * 1024:,} KiB kept in reserve so that a write never finds the disk full "
            f"(DEFWATCH_DISK_RESERVE_MB). Nothing more was written; what was stored before is kept. Free space on "
            f"that disk (or move the database with --db), then run again.")


@pytest.fixture
def demo_site(tmp_path):
    srv = SlowSampleServer().start()
    yield srv, write_registry(tmp_path, srv.base_url)
    srv.stop()


def _reference(tmp_path: Path, feeds: Path, env: dict, runs: int) -> Path:
    """The same runs on a disk with room."""
    db = tmp_path / "reference.duckdb"
    for _ in range(runs):
        out = run_defwatch(["ingest", "--db", str(db), "--feeds", str(feeds), "--force"], env)
        assert out.returncode == 0, out.stderr[-3000:]
    return db


def test_a_full_disk_stops_the_run_in_one_line_and_the_run_after_freeing_space_is_clean(tmp_path, demo_site,
                                                                                        prefect_api_url):
    srv, feeds = demo_site
    env = child_env(prefect_api_url, {"DEFWATCH_WORKERS": "1", "DEFWATCH_DISK_RESERVE_MB": str(RESERVE_MB)})
    with small_disk(tmp_path / "disk", 32) as disk:
        db = disk / "events.duckdb"
        first = run_defwatch(["ingest", "--db", str(db), "--feeds", str(feeds), "--force"], env)
        assert first.returncode == 0, first.stderr[-3000:]
        filler = fill(disk)
        before = {p.name: file_hash(p) for p in _database_files(db)}
        free = shutil.disk_usage(disk).free
        # No PREFECT_API_URL: had the command got as far as Prefect, an embedded server would be left.
        full = run_defwatch(["ingest", "--db", str(db), "--feeds", str(feeds), "--force"],
                            child_env(None, {"DEFWATCH_WORKERS": "1", "DEFWATCH_DISK_RESERVE_MB": str(RESERVE_MB)}))
        assert full.returncode == 1, full.stderr[-3000:]
        assert full.lines == [_expected(db, free)]
        assert full.leftovers == []
        assert {p.name: file_hash(p) for p in _database_files(db)} == before
        # Reading needs no space: the event log stays queryable.
        read = run_defwatch(["query", "--db", str(db), "--format", "csv", "select count(*) from articles"], env)
        assert read.returncode == 0 and read.lines[-1] == "35", read.stderr

        filler.unlink()
        again = run_defwatch(["ingest", "--db", str(db), "--feeds", str(feeds), "--force"], env)
        assert again.returncode == 0 and again.leftovers == [], again.stderr[-3000:]
        got = snapshot(db, srv.base_url)
    want = snapshot(_reference(tmp_path, feeds, env, runs=2), srv.base_url)
    assert got.content() == want.content() and got.runs == want.runs


def test_a_disk_filling_up_during_a_run_stops_it_between_batches_and_loses_nothing(tmp_path, demo_site,
                                                                                   prefect_api_url):
    srv, feeds = demo_site
    env = child_env(prefect_api_url, {"DEFWATCH_WORKERS": "1", "DEFWATCH_DISK_RESERVE_MB": str(RESERVE_MB),
                                      "DEFWATCH_BATCH_SIZE": "5"})
    with small_disk(tmp_path / "disk", 32) as disk:
        db = disk / "events.duckdb"
        # Room for the reserve and a little more: the first transactions fit, a later batch does not.
        # Slow pages make the run close its connection (without a checkpoint) before every batch.
        srv.delays["articles"] = 0.3
        filler = fill(disk, leave_bytes=(RESERVE_MB << 20) + LEEWAY_KB * 1024)
        run = run_defwatch(["ingest", "--db", str(db), "--feeds", str(feeds), "--force"], env)
        assert run.returncode == 1, run.stderr[-3000:]
        assert run.leftovers == []
        # The run's own log up to the fault (what a healthy run prints too), then one line, the
        # message (the free space at that moment varies by a few KiB): no Prefect failure lines,
        # no traceback (113 lines of them before).
        head, tail = _expected(db, 0).split(": 0 KiB free")
        fault = [line for line in run.lines if "DiskFullError" in line or "Not enough disk space" in line
                 or "Traceback" in line or "Failed(" in line or "ERROR" in line]
        assert len(fault) == 1, "\n".join(run.lines)
        assert re.fullmatch(re.escape(head) + r": [\d,]+ KiB free" + re.escape(tail), fault[0]), run.lines[-5:]
        assert "INTERNAL Error" not in run.stderr and "FatalException" not in run.stderr
        stored = query_db(db, "SELECT count(*) FROM articles")[0][0]
        assert 0 < stored < 35, f"the run stopped between batches, keeping the batches before ({stored} stored)"

        filler.unlink()
        srv.delays.clear()
        again = run_defwatch(["ingest", "--db", str(db), "--feeds", str(feeds), "--force"], env)
        assert again.returncode == 0 and again.leftovers == [], again.stderr[-3000:]
        got = snapshot(db, srv.base_url)
    want = snapshot(_reference(tmp_path, feeds, env, runs=1), srv.base_url)
    assert got.content() == want.content()

"""Integrity check, backup and restore of the DuckDB event log (read-only where it can be)."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from warehouse import db as dbmod
from warehouse.db import WarehouseError

MANIFEST = "defwatch-backup.json"


class RestoreRefused(WarehouseError):
    """restore would replace an existing database, or the backup is not one: nothing was changed."""

    exit_code = 2


# -- check ------------------------------------------------------------------------------------------

# Rows that point at nothing: (what is wrong, the child table, the parent table, SQL counting them).
# Each holds in a database only defwatch wrote, whatever crash happened (each batch is one
# transaction), so a count above zero means the file was edited, or damaged in a way DuckDB's
# checksums did not catch.
ORPHAN_CHECKS: list[tuple[str, tuple[str, ...], str]] = [
    ("event mentions without their event", ("event_mentions", "events"),
     "SELECT count(*) FROM event_mentions m WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = m.event_id)"),
    ("event mentions without their article", ("event_mentions", "articles"),
     "SELECT count(*) FROM event_mentions m WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.article_id = m.article_id)"),
    ("event history rows without their event", ("event_history", "events"),
     "SELECT count(*) FROM event_history h WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = h.event_id)"),
    ("events whose evidence article is missing", ("events", "articles"),
     "SELECT count(*) FROM events e WHERE e.evidence_article_id IS NOT NULL AND NOT EXISTS "
     "(SELECT 1 FROM articles a WHERE a.article_id = e.evidence_article_id)"),
    ("alerts without their event", ("alerts", "events"),
     "SELECT count(*) FROM alerts al WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = al.event_id)"),
    ("alert deliveries without their alert", ("alert_deliveries", "alerts"),
     "SELECT count(*) FROM alert_deliveries d WHERE NOT EXISTS (SELECT 1 FROM alerts al WHERE al.alert_id = d.alert_id)"),
    ("syndicated copies whose first copy is missing", ("articles",),
     "SELECT count(*) FROM articles c WHERE c.duplicate_of IS NOT NULL AND NOT EXISTS "
     "(SELECT 1 FROM articles a WHERE a.article_id = c.duplicate_of)"),
    ("feed sightings without their article", ("article_feeds", "articles"),
     "SELECT count(*) FROM article_feeds f WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.article_id = f.article_id)"),
    ("extraction records without their article", ("article_extractions", "articles"),
     "SELECT count(*) FROM article_extractions x WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.article_id = x.article_id)"),
    ("articles whose run is missing", ("articles", "runs"),
     "SELECT count(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.run_id = a.run_id)"),
    ("run errors whose run is missing", ("run_errors", "runs"),
     "SELECT count(*) FROM run_errors x WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.run_id = x.run_id)"),
    ("feed states of feeds not in the feeds table", ("feed_state", "feeds"),
     "SELECT count(*) FROM feed_state s WHERE NOT EXISTS (SELECT 1 FROM feeds f WHERE f.name = s.feed_name)"),
]


@dataclass
class CheckReport:
    path: Path
    tables: dict[str, int] = field(default_factory=dict)   # table -> rows read
    schema_version: int | None = None
    findings: list[str] = field(default_factory=list)      # one line each
    damaged: bool = False                                  # a table could not be read, or not defwatch's

    @property
    def exit_code(self) -> int:
        return 2 if self.damaged else 1 if self.findings else 0

    def summary(self) -> str:
        rows = sum(self.tables.values())
        return (f"{self.path}: ok: {len(self.tables)} tables read in full ({rows:,} rows, each block's "
                f"checksum verified), schema version {self.schema_version}, no orphaned rows")


def expected_tables() -> set[str]:
    """Tables the migrations create."""
    names = {"schema_version"}
    for _, _, sql in dbmod._migrations():
        names |= {m.lower() for m in re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", sql, re.IGNORECASE)}
    return names


def check(path: Path, wait: float = dbmod.LOCK_WAIT_SECONDS) -> CheckReport:
    """Open read-only, read every row of every table (DuckDB verifies each block's checksum as it
    reads it), compare the schema version with the migrations, and count orphaned rows. Raises
    ``UnusableDatabaseError`` when the file cannot be opened at all; never writes to it."""
    path = Path(path)
    if not path.exists():
        raise dbmod.unusable(path, "there is no such file", "Check --db / DEFWATCH_DB")
    report = CheckReport(path)
    con = dbmod._open(path, read_only=True, wait=wait)
    try:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() ORDER BY 1").fetchall()]
        for table in tables:
            try:
                # hash() of the whole row makes DuckDB read every column's blocks, not only counts.
                rows, _ = con.execute(f'SELECT count(*), bit_xor(hash(t)) FROM "{table}" AS t').fetchone() or (0, 0)
                report.tables[table] = rows
            except duckdb.Error as exc:
                report.damaged = True
                damage = dbmod.damage_in(str(exc))
                why = f"is damaged ({damage})" if damage else f"cannot be read ({_first_line(exc)})"
                report.findings.append(f"{path}: table {table} {why}: restore a backup (defwatch restore "
                                       f"BACKUP_DIR --db {path} --force)")
        _check_schema(con, report, set(tables))
        _check_orphans(con, report)
    finally:
        con.close()
    return report


def _check_schema(con: duckdb.DuckDBPyConnection, report: CheckReport, tables: set[str]) -> None:
    path = report.path
    if "schema_version" not in tables:
        report.damaged = True
        report.findings.append(f"{path}: not a defwatch database: it has no schema_version table "
                               f"(tables: {dbmod.name_some(tables) or 'none'})")
        return
    if "schema_version" not in report.tables:
        return  # unreadable: already a finding
    versions = sorted(v for (v,) in con.execute("SELECT version FROM schema_version").fetchall())
    report.schema_version = max(versions) if versions else 0
    if report.schema_version > dbmod.SCHEMA_VERSION:
        report.findings.append(f"{path}: schema version {report.schema_version} is newer than this defwatch "
                               f"understands ({dbmod.SCHEMA_VERSION}): upgrade defwatch")
    elif report.schema_version < dbmod.SCHEMA_VERSION:
        report.findings.append(f"{path}: schema version {report.schema_version} is older than this defwatch's "
                               f"({dbmod.SCHEMA_VERSION}): any write command (defwatch ingest) upgrades it")
    missing_versions = sorted(set(range(1, report.schema_version + 1)) - set(versions))
    if missing_versions:
        report.findings.append(f"{path}: migrations {missing_versions} are not recorded in schema_version")
    if report.schema_version == dbmod.SCHEMA_VERSION:
        missing = sorted(expected_tables() - tables)
        if missing:
            report.findings.append(f"{path}: tables missing for schema version {report.schema_version}: "
                                   f"{', '.join(missing)}")


def _check_orphans(con: duckdb.DuckDBPyConnection, report: CheckReport) -> None:
    for what, needs, sql in ORPHAN_CHECKS:
        if not all(t in report.tables for t in needs):
            continue  # missing or unreadable: already a finding
        try:
            (count,) = con.execute(sql).fetchone() or (0,)
        except duckdb.Error as exc:
            report.findings.append(f"{report.path}: could not count {what}: {_first_line(exc)}")
            continue
        if count:
            report.findings.append(f"{report.path}: {count:,} {what}")


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


# -- backup and restore -----------------------------------------------------------------------------

@dataclass
class CopyResult:
    source: Path
    target: Path
    tables: dict[str, int]
    seconds: float
    bytes: int
    findings: list[str] = field(default_factory=list)   # check's findings on the restored file


def backup(path: Path, target: Path, wait: float = dbmod.LOCK_WAIT_SECONDS) -> CopyResult:
    """A consistent copy of the database as a folder (DuckDB's EXPORT DATABASE: schema.sql,
    load.sql and a Parquet file per table) plus a manifest of row counts.

    Consistent: a read-only connection holds DuckDB's file lock, which no writer can take while
    it is open, and the export reads one snapshot. The caller also holds the ingest run lock so
    that an ingest does not start and fail meanwhile. Written to ``TARGET.partial`` and renamed
    when complete, so a folder named ``target`` is always a whole backup."""
    path, target = Path(path), Path(target)
    started = time.monotonic()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise RestoreRefused(f"The backup folder {target} already exists and is not empty; nothing was written. "
                             f"Give a new folder.")
    if not path.exists():
        raise dbmod.unusable(path, "there is no such file", "Check --db / DEFWATCH_DB")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    con = dbmod._open(path, read_only=True, wait=wait)
    old_umask = os.umask(0o077)   # the copy is as private as the database file (0600)
    try:
        names = [t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() ORDER BY 1").fetchall()]
        tables = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in names}
        version = dbmod.schema_version(con)
        try:
            con.execute(f"EXPORT DATABASE '{_sql_path(partial)}' (FORMAT parquet)")
        except duckdb.IOException as exc:
            shutil.rmtree(partial, ignore_errors=True)
            if "No space left on device" in str(exc):
                raise dbmod.disk_full(path, f"the backup folder {target} ran out of space") from None
            raise
    finally:
        os.umask(old_umask)
        con.close()
    (partial / MANIFEST).write_text(json.dumps({
        "source": str(path), "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "schema_version": version, "duckdb": duckdb.__version__, "tables": tables}, indent=2) + "\n")
    (partial / MANIFEST).chmod(0o600)
    if target.exists():
        target.rmdir()  # empty (checked above)
    partial.rename(target)
    return CopyResult(path, target, tables, time.monotonic() - started, _folder_bytes(target))


def restore(source: Path, path: Path, force: bool = False) -> CopyResult:
    """A new database file from a backup folder: IMPORT DATABASE into ``PATH.restoring``, which must
    pass ``check`` with the manifest's row counts, then renamed onto ``path``. An existing database
    is replaced only with ``force``, and kept as ``PATH.before-restore``."""
    source, path = Path(source), Path(path)
    started = time.monotonic()
    manifest_file = source / MANIFEST
    if not (source / "schema.sql").is_file() or not manifest_file.is_file():
        raise RestoreRefused(f"{source} is not a defwatch backup (no schema.sql and {MANIFEST}); nothing was "
                             f"changed. Give a folder written by defwatch backup.")
    manifest = json.loads(manifest_file.read_text())
    if path.exists() and not force:
        raise RestoreRefused(f"The database {path} already exists; restore did not touch it. Pass --force to "
                             f"replace it (the current file is kept as {path.name}.before-restore), or restore "
                             f"to a new --db.")
    staging = path.with_name(path.name + ".restoring")
    _remove_database(staging)
    path.parent.mkdir(parents=True, exist_ok=True)
    dbmod.ensure_disk_space(path)
    old_umask = os.umask(0o077)   # owner-only, like every database file defwatch creates
    try:
        con = duckdb.connect(str(staging))
    finally:
        os.umask(old_umask)
    try:
        con.execute(f"IMPORT DATABASE '{_sql_path(source)}'")
        con.execute("CHECKPOINT")
    except BaseException:
        con.close()
        _remove_database(staging)
        raise
    con.close()
    report = check(staging)
    counts_differ = {t: (n, report.tables.get(t)) for t, n in manifest["tables"].items() if report.tables.get(t) != n}
    # Damage or lost rows stop the restore. Findings the source had too (orphans, an old schema)
    # do not: the backup is restored as it was taken, and the findings are reported.
    if report.damaged or counts_differ:
        _remove_database(staging)
        problems = "; ".join(report.findings) or f"row counts differ from the manifest: {counts_differ}"
        raise RestoreRefused(f"The backup {source} did not restore cleanly ({problems}); {path} was not changed.")
    if path.exists():
        kept = path.with_name(path.name + ".before-restore")
        _remove_database(kept)
        os.replace(path, kept)
        wal = path.with_name(path.name + ".wal")
        if wal.exists():  # the old file's log belongs with it: replayed onto the new file, it would corrupt it
            os.replace(wal, kept.with_name(kept.name + ".wal"))
    os.replace(staging, path)
    findings = [f.replace(str(staging), str(path)) for f in report.findings]
    return CopyResult(source, path, report.tables, time.monotonic() - started, path.stat().st_size, findings)


def _remove_database(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())

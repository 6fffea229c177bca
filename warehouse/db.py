"""Connections and migrations: the only place that opens the DuckDB file.

DuckDB allows one read-write process per file, and a writer blocks readers
too. The ingest flow keeps its write connection across batches that are ready
one after another (``HeldWriter``), closes it while it waits for the network,
and hands it over between two batches as soon as another process waits for the
file (that process leaves a flag file next to the database), so a query waits
at most about one batch write. Both sides retry on the lock error for a bounded
time and then raise ``DatabaseBusyError``, whose message says what to do
instead of showing DuckDB's raw lock error.
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import re
import shutil
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import duckdb

from warehouse import backend

LOCK_WAIT_SECONDS = 30.0


class WarehouseError(Exception):
    """Base class of errors raised by the warehouse."""


class DatabaseBusyError(WarehouseError):
    """Another process holds the database file for writing."""


class ReadOnlyViolation(WarehouseError):
    """A statement tried to write through a read-only connection."""


class NoDatabaseError(WarehouseError):
    """The database file named for a read does not exist: bad input, nothing was created."""

    exit_code = 2


class BadQueryError(WarehouseError):
    """The user's SQL does not run (a name it uses does not exist, a syntax error …): bad input."""

    exit_code = 2


class WriteConflictError(DatabaseBusyError):
    """DuckLake refused a commit because another writer changed the same table meanwhile."""


class UnusableDatabaseError(WarehouseError):
    """The database file is damaged, truncated or not a DuckDB database: nothing was changed."""

    exit_code = 2


class DiskFullError(WarehouseError):
    """Too little free space left to write safely: nothing was written by this attempt."""

    exit_code = 1


# A write that finds the disk full can leave DuckDB unable to roll its commit back, and it then
# aborts the process (measured with DuckDB 1.5: "Failed to append to PRIMARY_feed_state_0",
# exit 134, on every later run). So no write transaction starts with less than this free on the
# database's file system; it must exceed what one batch writes (WAL plus checkpoint).
DISK_RESERVE_ENV = "DEFWATCH_DISK_RESERVE_MB"
DEFAULT_DISK_RESERVE_MB = 64.0


_LOCK_MARKERS = ("Could not set lock on file", "Conflicting lock is held")


def _is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and any(m in str(exc) for m in _LOCK_MARKERS)


def _holder_pid(exc: BaseException) -> str | None:
    m = re.search(r"PID (\d+)", str(exc))
    return m.group(1) if m else None


def wanted_flag(path: Path) -> Path:
    """The file a process leaves next to the database while it waits for the lock: a
    ``HeldWriter`` sees it and lets go before its next batch."""
    return path.with_name(path.name + ".wanted")


def _open(path: Path, read_only: bool, wait: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait
    delay = 0.05
    flagged = False
    try:
        while True:
            try:
                con = _connect(path, read_only)
            except duckdb.IOException as exc:
                if not _is_lock_error(exc):
                    raise _open_error(path, exc) from None
                if time.monotonic() >= deadline:
                    pid = _holder_pid(exc)
                    who = f" (process {pid})" if pid else ""
                    raise DatabaseBusyError(
                        f"Another defwatch run{who} holds the database {path} for writing, and it did "
                        f"not free it within {wait:.0f} s. Wait for that run to finish, or query an "
                        f"export (`defwatch export`) instead."
                    ) from None
                # (Again on every attempt: a holder removes a flag nobody took up within its wait.)
                flagged = _raise_flag(path) or flagged
                time.sleep(delay + random.uniform(0, delay))
                # Poll briskly once the holder knows we wait: it lets go for a moment only.
                delay = min(delay * 2, 0.1 if flagged else 1.0)
                continue
            _utc_by_its_fast_name(con)
            return con
    finally:
        if flagged:
            with contextlib.suppress(OSError):
                wanted_flag(path).unlink(missing_ok=True)


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` after a look at the file's first bytes: DuckDB opens a SQLite file by
    loading its sqlite extension (from the internet), and a file that is not DuckDB's is refused
    here with a reason instead of DuckDB's error."""
    reason = foreign_file_reason(path)
    if reason:
        raise unusable(path, reason)
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException:
        raise
    except duckdb.Error as exc:  # a damaged catalog can fail as an internal or serialization error
        raise _open_error(path, exc) from None


_DUCKDB_MAGIC = b"DUCK"   # bytes 8-11 of every DuckDB file (after the header block's checksum)


def foreign_file_reason(path: Path) -> str | None:
    """Why ``path`` is not a DuckDB database, judged from its first bytes (read only); None if it
    is one, or does not exist (DuckDB creates it)."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        return "it is a directory, not a database file"
    except OSError as exc:
        return f"it cannot be read ({exc.strerror})"
    if not head:
        return "the file is empty (0 bytes), not a DuckDB database"
    if head.startswith(b"SQLite format 3\0"):
        return "it is a SQLite database, not a DuckDB one"
    if head[8:12] != _DUCKDB_MAGIC:
        return ("it is not a DuckDB database (its first bytes are not a DuckDB header: another kind of file, "
                "or a damaged header)")
    return None


def unusable(path: Path, reason: str, advice: str | None = None) -> UnusableDatabaseError:
    advice = advice or (f"Restore a backup (defwatch restore BACKUP_DIR --db {path} --force) or move the file "
                        f"aside to start a new database")
    return UnusableDatabaseError(f"The database {path} cannot be used: {reason}. It was not changed. {advice}.")


def _open_error(path: Path, exc: duckdb.Error) -> WarehouseError:
    """DuckDB's error on opening ``path`` as one line that says what is wrong and what to do."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "No space left on device" in text:
        return disk_full(path, "DuckDB could not write to it (no space left on the device)")
    if "Permission denied" in text:
        return unusable(path, "permission denied", "Give this user read and write access to it and its folder")
    damage = damage_in(text)
    if damage:
        return unusable(path, f"it is damaged ({damage})")
    m = re.search(r"attempted to read (\d+) bytes from location (\d+)", text)
    if m:
        size = path.stat().st_size
        return unusable(path, f"it is truncated (DuckDB needs bytes up to {int(m.group(1)) + int(m.group(2)):,}, "
                              f"the file has {size:,})")
    if "not a valid DuckDB database file" in text:
        return unusable(path, "it is not a DuckDB database file")
    text = re.sub(r"^[A-Za-z ]+Error: ", "", text)
    return unusable(path, f"DuckDB cannot open it ({text})")


def damage_in(duckdb_message: str) -> str | None:
    """DuckDB's checksum failure as a phrase ('the block at byte N fails its checksum'), else None."""
    m = re.search(r"checksum \d+ does not match stored checksum \d+ in block at location (\d+)", duckdb_message)
    return f"the block at byte {int(m.group(1)):,} fails its checksum" if m else None


def name_some(names, at_most: int = 5) -> str:
    """'a, b, c' or 'a, b, c, … (12 in all)'."""
    names = sorted(names)
    more = f", … ({len(names)} in all)" if len(names) > at_most else ""
    return ", ".join(names[:at_most]) + more


def disk_reserve_bytes() -> int:
    raw = os.environ.get(DISK_RESERVE_ENV, "").strip()
    try:
        mb = float(raw) if raw else DEFAULT_DISK_RESERVE_MB
    except ValueError:
        mb = DEFAULT_DISK_RESERVE_MB
    return int(mb * 1024 * 1024)


def disk_full(path: Path, what: str) -> DiskFullError:
    return DiskFullError(
        f"Not enough disk space for the database {path}: {what}. Nothing more was written; what was stored "
        f"before is kept. Free space on that disk (or move the database with --db), then run again.")


def ensure_disk_space(path: Path) -> None:
    """``DiskFullError`` unless the database's file system has the reserve free (see above)."""
    folder = path.parent if path.parent.exists() else Path(".")
    free, reserve = shutil.disk_usage(folder).free, disk_reserve_bytes()
    if free < reserve:
        raise disk_full(path, f"{free // 1024:,} KiB free, less than the {-(-reserve // 1024):,} KiB kept in reserve "
                              f"so that a write never finds the disk full ({DISK_RESERVE_ENV})")


def ensure_writable_database(path: str | Path) -> None:
    """Before a write command starts anything (Prefect included): the file, if there is one, is a
    usable DuckDB database of defwatch's, and its disk has room. Reads only; changes nothing.
    A file another process holds is not judged here (that process may be a healthy writer)."""
    if _lake_config() is not None:
        return
    path = Path(path)
    if path.exists():
        try:
            con = _connect(path, read_only=True)
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise _open_error(path, exc) from None
        else:
            try:
                tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
            finally:
                con.close()
            if tables and "schema_version" not in tables:
                raise unusable(path, f"it is a DuckDB database of something else (tables: {name_some(tables)}; "
                                     f"none of them defwatch's schema_version)",
                               "Point --db at a defwatch database, or at a new file")
    ensure_disk_space(path)


# Names of the zone that is UTC all year. DuckDB hands out TIMESTAMPTZ values in the session's zone
# (the system's by default), and converting to Python datetimes costs twice as much under the name
# 'Etc/UTC' (a common system setting) as under 'UTC': 90 vs 46 ms for 18,000 values (the README's
# "status changes this month" at 1M events). Same instants, same offset, same printed form.
_UTC_ALIASES = frozenset({"Etc/UTC", "Etc/Universal", "Etc/Zulu", "Etc/UCT", "UCT", "Universal", "Zulu",
                          "Etc/GMT", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0", "GMT", "GMT0", "GMT+0", "GMT-0",
                          "Greenwich", "Etc/Greenwich"})


_ZONE_IS_UTC_ALIAS: bool | None = None  # the process's default zone does not change: asked once


def _utc_by_its_fast_name(con: duckdb.DuckDBPyConnection) -> None:
    global _ZONE_IS_UTC_ALIAS
    if _ZONE_IS_UTC_ALIAS is None:
        _ZONE_IS_UTC_ALIAS = con.execute("SELECT current_setting('TimeZone')").fetchone()[0] in _UTC_ALIASES
    if _ZONE_IS_UTC_ALIAS:
        con.execute("SET TimeZone = 'UTC'")


def _raise_flag(path: Path) -> bool:
    try:
        wanted_flag(path).touch()
        return True
    except OSError:  # a directory we may not write to: wait without asking
        return False


class HeldWriter:
    """One write connection kept across a run's batches, handed over when another process waits.

    Closing a DuckDB connection checkpoints the file and opening one re-reads it: per batch that
    cost 0.2-0.3 s of CPU (profile of a 2,000-article run: 4.7 s of 30 s), more than storing the
    batch. Holding the file for a whole run would block every query, so a process that finds the
    file locked leaves ``wanted_flag(path)`` (see ``_open``), and before its next batch the holder
    closes its connection and waits up to ``handover_s`` for the other process to get in.
    With ``DEFWATCH_WAREHOUSE=ducklake`` nothing is held: each use is a ``write_connection``.
    """

    def __init__(self, path: str | Path, wait: float = LOCK_WAIT_SECONDS, handover_s: float = 2.0):
        self.path = Path(path)
        self.wait = wait
        self.handover_s = handover_s
        self.handovers = 0
        self._con: duckdb.DuckDBPyConnection | None = None

    def __enter__(self) -> HeldWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    @contextlib.contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if _lake_config() is not None:
            with write_connection(self.path, self.wait) as con:
                yield con
            return
        if self._con is not None and wanted_flag(self.path).exists():
            self.release()
            self._hand_over()
        ensure_disk_space(self.path)
        if self._con is None:
            self._con = open_writer(self.path, self.wait)
        try:
            yield self._con
        except BaseException:
            self.release()  # whatever went wrong, the next use starts from a fresh connection
            raise

    def release(self, checkpoint: bool = True) -> None:
        """Close the connection (a checkpoint): other processes can open the file now.

        ``checkpoint=False`` while a run waits for the network: the committed batches stay in the
        write-ahead log (durable; readers and the next open replay it) instead of being copied into
        the file before each batch. Measured on the demo with 0.3 s pages and batches of 5: a
        checkpoint per batch left a 13 MB file against 7.2 MB, and costs 0.2-0.3 s of CPU each.
        DuckDB still checkpoints by itself when the log passes its threshold (16 MB)."""
        if self._con is not None:
            con, self._con = self._con, None
            close_without_filling_the_disk(self.path, con, checkpoint)

    def _hand_over(self) -> None:
        self.handovers += 1
        flag = wanted_flag(self.path)
        deadline = time.monotonic() + self.handover_s
        while flag.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        # Still there: its process gave up or died. Remove it so it costs one wait, not one per batch.
        with contextlib.suppress(OSError):
            flag.unlink(missing_ok=True)


def _secure_new_file(path: Path) -> None:
    """Create the database file owner-only before DuckDB writes anything into it."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    # DuckDB refuses an existing zero-byte file that is not a database; remove it
    # and let DuckDB create it under our umask instead.
    path.unlink()


def close_without_filling_the_disk(path: Path, con: duckdb.DuckDBPyConnection, checkpoint: bool = True) -> None:
    """Close a write connection; below the disk reserve (or with ``checkpoint=False``), without
    the checkpoint closing does. The checkpoint copies changed blocks into the file (megabytes);
    skipped, the committed data stays in the write-ahead log, which the next open replays."""
    try:
        ensure_disk_space(path)
    except DiskFullError:
        checkpoint = False
    if not checkpoint:
        with contextlib.suppress(duckdb.Error):
            con.execute("PRAGMA disable_checkpoint_on_shutdown")
    con.close()


@contextlib.contextmanager
def write_connection(path: str | Path, wait: float = LOCK_WAIT_SECONDS) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-write connection with the schema migrated.

    With ``DEFWATCH_WAREHOUSE=ducklake`` the connection is to the shared DuckLake instead (``path``
    is then not opened), and the lake's writer lock is held while it is open."""
    cfg = _lake_config()
    if cfg is not None:
        with _lake_write_connection(cfg, wait) as con:
            yield con
        return
    ensure_disk_space(Path(path))
    con = open_writer(path, wait)
    try:
        yield con
    finally:
        close_without_filling_the_disk(Path(path), con)


def open_writer(path: str | Path, wait: float = LOCK_WAIT_SECONDS) -> duckdb.DuckDBPyConnection:
    """A read-write connection with the schema migrated; the caller closes it."""
    path = Path(path)
    _secure_new_file(path)
    old_umask = os.umask(0o077)
    try:
        con = _open(path, read_only=False, wait=wait)
    finally:
        os.umask(old_umask)
    try:
        migrate(con)
    except BaseException:
        con.close()
        raise
    return con


@contextlib.contextmanager
def read_connection(path: str | Path, wait: float = LOCK_WAIT_SECONDS) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection: any statement that writes fails."""
    cfg = _lake_config()
    if cfg is not None:
        with _lake_read_connection(cfg) as con:
            yield con
        return
    path = Path(path)
    if not path.exists():
        raise NoDatabaseError(
            f"No database at {path}. Run `defwatch demo` or `defwatch ingest` first, "
            f"or point --db / DEFWATCH_DB at an existing file."
        )
    con = _open(path, read_only=True, wait=wait)
    try:
        if _written_by_an_older_version(con):
            con.close()
            _upgrade(path, wait)
            con = _open(path, read_only=True, wait=wait)
        con.execute(_READ_SETTINGS)
        yield con
    finally:
        con.close()


def _written_by_an_older_version(con: duckdb.DuckDBPyConnection) -> bool:
    """The file's schema is older than this defwatch's (read queries use the newer columns:
    `events --as-of` reads migration 005's). A file without schema_version is not a defwatch
    database: it is read as it is."""
    try:
        version = con.execute("SELECT max(version) FROM schema_version").fetchone()[0]
    except duckdb.CatalogException:
        return False
    return (version or 0) < SCHEMA_VERSION


def _upgrade(path: Path, wait: float) -> None:
    """Apply the missing migrations once (a short write), so that a read after upgrading
    defwatch does not fail on a column the old schema lacks."""
    try:
        open_writer(path, wait).close()
    except (duckdb.IOException, PermissionError) as exc:
        raise WarehouseError(
            f"The database {path} was written by an older defwatch and its schema needs upgrading "
            f"to version {SCHEMA_VERSION} before it can be read, but it could not be opened for writing "
            f"({str(exc).splitlines()[0]}). Run defwatch once with write access to the file (any "
            f"command upgrades it), or query an export made by the older version."
        ) from None


# A semi-join on at most this many distinct keys becomes an exact `IN (…)` filter on the scan of
# the other side (DuckDB's default is 50; above that only a min/max range and a Bloom filter). With
# `rowid IN (…)` that reads only the vectors holding those rows: `defwatch events` fetches its
# 100 rows that way (warehouse/query.py), 2-3x faster than through the range + Bloom filter.
_READ_SETTINGS = "SET dynamic_or_filter_threshold = 1000"


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: a crash inside leaves the file as it was before."""
    if backend.is_lake(con):
        with _lake_transaction(con):
            yield con
        return
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


@functools.cache
def _migrations() -> list[tuple[int, str, str]]:
    out = []
    for entry in resources.files("warehouse.migrations").iterdir():
        m = re.fullmatch(r"(\d{3})_(\w+)\.sql", entry.name)
        if m:
            out.append((int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    return sorted(out)


SCHEMA_VERSION = max(v for v, _, _ in _migrations())


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()[0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply every migration newer than the file's schema version, each in one transaction."""
    current = schema_version(con)
    if current > SCHEMA_VERSION:
        raise WarehouseError(
            f"The database has schema version {current}, newer than this defwatch "
            f"understands ({SCHEMA_VERSION}). Upgrade defwatch."
        )
    lake = backend.is_lake(con)
    for version, name, sql in _migrations():
        if version <= current:
            continue
        con.execute("BEGIN")
        try:
            if version == 1:
                con.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version ("
                    f"version INTEGER{'' if lake else ' PRIMARY KEY'}, name VARCHAR, "
                    "applied_at TIMESTAMPTZ DEFAULT now())"
                )
            con.execute(backend.translate_ddl(sql) if lake else sql)
            con.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)", [version, name])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION


# -- the shared DuckLake backend (DEFWATCH_WAREHOUSE=ducklake); see warehouse/backend.py ----------

TABLE_KEYS = backend.table_keys([sql for _, _, sql in _migrations()])
TABLE_KEYS["schema_version"] = [("version",)]


def _lake_config() -> backend.LakeConfig | None:
    try:
        return backend.config()
    except backend.BackendError as exc:
        raise WarehouseError(str(exc)) from None


@contextlib.contextmanager
def _lake_write_connection(cfg: backend.LakeConfig, wait: float) -> Iterator[duckdb.DuckDBPyConnection]:
    # Opening (loading the extensions, ATTACH: 1-2 s) happens before the writer lock is taken;
    # only a lake that does not exist yet is created under the lock.
    con = new = None
    try:
        con, new = backend.acquire(cfg)
    except backend.BackendError as exc:
        raise WarehouseError(str(exc)) from None
    except duckdb.Error:
        pass  # e.g. two processes creating a new lake at once: try again under the lock
    try:
        lock = backend.writer_lock(cfg, wait)
        lock.__enter__()
    except backend.LockTimeout as exc:
        if con is not None:
            backend.release(cfg, con, read_only=False, reusable=True)
        raise DatabaseBusyError(
            f"Another defwatch writer held the shared event log ({cfg.describe()}) and did not free it "
            f"within {wait:.0f} s ({exc}). Wait for its batch to commit, or raise the wait."
        ) from None
    except backend.BackendError as exc:
        if con is not None:
            backend.release(cfg, con, read_only=False, reusable=True)
        raise WarehouseError(str(exc)) from None
    try:
        if con is None:
            try:
                con, new = backend.acquire(cfg)
            except backend.BackendError as exc:
                raise WarehouseError(str(exc)) from None
        ok = False
        try:
            if new:
                migrate(con)
            yield con
            ok = True
        finally:
            backend.release(cfg, con, read_only=False, reusable=ok)
    finally:
        lock.__exit__(None, None, None)


@contextlib.contextmanager
def _lake_read_connection(cfg: backend.LakeConfig) -> Iterator[duckdb.DuckDBPyConnection]:
    try:
        con, _ = backend.acquire(cfg, read_only=True)
    except backend.BackendError as exc:
        raise WarehouseError(str(exc)) from None
    except duckdb.Error as exc:
        raise WarehouseError(
            f"Cannot open the shared event log ({cfg.describe()}): {str(exc).splitlines()[0]}. "
            f"Run `defwatch ingest` with the same DEFWATCH_* settings first."
        ) from None
    ok = False
    try:
        yield con
        ok = True
    finally:
        backend.release(cfg, con, read_only=True, reusable=ok)


@contextlib.contextmanager
def _lake_transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    try:
        con.execute("COMMIT")
    except duckdb.TransactionException as exc:
        if "conflict" not in str(exc).lower():
            raise
        raise WriteConflictError(
            f"The shared event log refused this commit: another writer changed the same table "
            f"meanwhile ({str(exc).splitlines()[-1]}). Nothing of it was written; run it again."
        ) from None

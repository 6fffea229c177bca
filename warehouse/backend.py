"""Where the event log lives: the embedded DuckDB file (default) or a shared DuckLake.

``DEFWATCH_WAREHOUSE`` selects the backend:

* ``duckdb`` (default, also when unset): one DuckDB file, one writing process at a time
  (``warehouse.db`` as before; nothing in this module is used).
* ``ducklake``: DuckDB's lakehouse format. The catalog lives in PostgreSQL
  (``DEFWATCH_DUCKLAKE_CATALOG``, default ``postgres:dbname=test host=127.0.0.1``), the data as
  Parquet files under ``DEFWATCH_DUCKLAKE_DATA_PATH`` (a shared folder or an object-store prefix),
  optionally in its own PostgreSQL schema (``DEFWATCH_DUCKLAKE_SCHEMA``). Any number of processes,
  on any number of machines, may open it at once.

DuckLake has no PRIMARY KEY / UNIQUE constraints and no indexes, so uniqueness is enforced here:

1. every key is deterministic (article_id = hash of the canonical URL, event_id = hash of type,
   parties and date, alert_id = hash of event, kind and value; see ``warehouse.identity``);
2. every keyed insert is an anti-join (``INSERT … SELECT … WHERE NOT EXISTS``, duplicates within
   the batch dropped too) instead of ``ON CONFLICT`` (``warehouse.store.bulk_insert``);
3. the read-check-write of a write connection is serialised across all processes by a PostgreSQL
   advisory lock on the catalog (``WriterLock``), taken before the DuckLake snapshot is read and
   released after COMMIT. DuckLake's own optimistic concurrency does *not* make two concurrent
   appends of the same key conflict (appends never conflict; measured, see
   tests/scaleout/test_uniqueness.py), so an anti-join alone would not be enough.
   What runs in parallel is everything outside a write connection: polling, fetching, cleaning.
   Readers (``read_connection``) take no lock at all: they read a committed snapshot.
4. a commit that DuckLake still rejects (a writer outside defwatch touching the same table)
   raises ``WriteConflictError``, a ``DatabaseBusyError``: the ingest flow's store task retries it.

The extensions come from PyPI packages (``duckdb-extension-ducklake``,
``duckdb-extension-postgres``, the same version as duckdb) and are loaded from the package's
folder with signature checking left on; autoinstall/autoload are off, so nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb

WAREHOUSE_ENV = "DEFWATCH_WAREHOUSE"
CATALOG_ENV = "DEFWATCH_DUCKLAKE_CATALOG"
DATA_PATH_ENV = "DEFWATCH_DUCKLAKE_DATA_PATH"
SCHEMA_ENV = "DEFWATCH_DUCKLAKE_SCHEMA"
DEFAULT_CATALOG = "postgres:dbname=test host=127.0.0.1"
LAKE_ALIAS = "lake"

# The PyPI package of each extension, and the name DuckDB knows it by (the name decides the
# entry point DuckDB looks for: the postgres package ships its file as postgres.duckdb_extension
# while the extension calls itself postgres_scanner).
EXTENSIONS = (
    ("duckdb_extension_postgres", "postgres_scanner", "duckdb-extension-postgres"),
    ("duckdb_extension_ducklake", "ducklake", "duckdb-extension-ducklake"),
)


class BackendError(Exception):
    """Misconfiguration of the shared backend (raised as a WarehouseError by warehouse.db)."""


@dataclass(frozen=True)
class LakeConfig:
    catalog: str            # what follows 'ducklake:' in ATTACH, e.g. postgres:dbname=test host=…
    data_path: str          # DATA_PATH: a folder (or object-store prefix) every worker can reach
    metadata_schema: str | None = None

    @property
    def postgres_conninfo(self) -> str | None:
        return self.catalog[len("postgres:"):] if self.catalog.startswith("postgres:") else None

    @property
    def lock_key(self) -> int:
        """One advisory-lock key per lake (catalog + schema), as a signed 64-bit integer."""
        digest = hashlib.sha256(f"defwatch|{self.catalog}|{self.metadata_schema or ''}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def describe(self) -> str:
        schema = f", schema {self.metadata_schema}" if self.metadata_schema else ""
        return f"DuckLake ducklake:{self.catalog}{schema}, data {self.data_path}"


def config(environ: dict[str, str] | None = None) -> LakeConfig | None:
    """The DuckLake configuration, or None for the embedded DuckDB file."""
    env = os.environ if environ is None else environ
    kind = env.get(WAREHOUSE_ENV, "").strip().lower()
    if kind in ("", "duckdb"):
        return None
    if kind != "ducklake":
        raise BackendError(f"{WAREHOUSE_ENV}={env.get(WAREHOUSE_ENV)!r}: use 'duckdb' (the default) or 'ducklake'.")
    catalog = env.get(CATALOG_ENV, "").strip() or DEFAULT_CATALOG
    data_path = env.get(DATA_PATH_ENV, "").strip()
    if not data_path:
        raise BackendError(
            f"{WAREHOUSE_ENV}=ducklake needs {DATA_PATH_ENV}: the folder (or object-store prefix) "
            f"where every worker reads and writes the Parquet files.")
    if "'" in catalog or "'" in data_path:
        raise BackendError(f"{CATALOG_ENV} and {DATA_PATH_ENV} must not contain single quotes.")
    schema = env.get(SCHEMA_ENV, "").strip() or None
    if schema is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", schema):
        raise BackendError(f"{SCHEMA_ENV}={schema!r}: use letters, digits and underscores.")
    return LakeConfig(catalog, data_path, schema)


# -- extensions ----------------------------------------------------------------------------------

def extension_file(module: str, pypi_name: str) -> Path:
    """The .duckdb_extension file shipped by a PyPI extension package, for this duckdb version."""
    try:
        root = resources.files(module)
    except ModuleNotFoundError:
        raise BackendError(
            f"The DuckDB extension package {pypi_name} is not installed: "
            f"pip install {pypi_name}=={duckdb.__version__}") from None
    folder = Path(str(root)) / "extensions" / f"v{duckdb.__version__}"
    files = sorted(folder.glob("*.duckdb_extension"))
    if not files:
        raise BackendError(
            f"{pypi_name} has no extension built for duckdb {duckdb.__version__} (looked in {folder}); "
            f"install {pypi_name}=={duckdb.__version__}.")
    return files[0]


def _named_copy(src: Path, name: str) -> Path:
    """A link to ``src`` called ``name.duckdb_extension`` (DuckDB derives the entry point from the
    file name). Kept in a per-user cache; the bytes, and so the signature check, are unchanged."""
    if src.name == f"{name}.duckdb_extension":
        return src
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = base / "defwatch" / "duckdb-extensions" / f"v{duckdb.__version__}"
    folder.mkdir(parents=True, exist_ok=True)
    dst = folder / f"{name}.duckdb_extension"
    if not (dst.is_symlink() and os.readlink(dst) == str(src)):
        tmp = folder / f".{name}.{os.getpid()}.tmp"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        os.symlink(src, tmp)
        os.replace(tmp, dst)
    return dst


def extensions_available() -> str | None:
    """None when both extension packages are usable, else why not (for test skips)."""
    try:
        for module, _, pypi_name in EXTENSIONS:
            extension_file(module, pypi_name)
    except BackendError as exc:
        return str(exc)
    return None


def load_extensions(con: duckdb.DuckDBPyConnection) -> None:
    for module, name, pypi_name in EXTENSIONS:
        path = _named_copy(extension_file(module, pypi_name), name)
        con.execute(f"LOAD '{path}'")


# -- connections ---------------------------------------------------------------------------------

_LAKE_CONNECTIONS: set[int] = set()


def is_lake(con: duckdb.DuckDBPyConnection) -> bool:
    """True for a connection opened by ``connect`` below (checked by id, free for DuckDB files)."""
    return id(con) in _LAKE_CONNECTIONS


def connect(cfg: LakeConfig, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:", config={
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    })
    try:
        load_extensions(con)
        opts = [f"DATA_PATH '{cfg.data_path}'"]
        if cfg.metadata_schema:
            opts.append(f"METADATA_SCHEMA '{cfg.metadata_schema}'")
        if read_only:
            opts.append("READ_ONLY")
        con.execute(f"ATTACH 'ducklake:{cfg.catalog}' AS {LAKE_ALIAS} ({', '.join(opts)})")
        con.execute(f"USE {LAKE_ALIAS}")
    except Exception:
        con.close()
        raise
    _LAKE_CONNECTIONS.add(id(con))
    return con


def close(con: duckdb.DuckDBPyConnection) -> None:
    _LAKE_CONNECTIONS.discard(id(con))
    con.close()


# Opening a lake costs 1-2 s here (loading the postgres extension, ATTACH, reading the catalog),
# more than a batch write: each process keeps its idle connections and reuses them. A reused
# connection sees every commit made since (each transaction reads the newest snapshot).
_POOL: dict[tuple[LakeConfig, bool], list[duckdb.DuckDBPyConnection]] = {}
_POOL_LOCK = threading.Lock()
_POOL_MAX_IDLE = 2


def acquire(cfg: LakeConfig, read_only: bool = False) -> tuple[duckdb.DuckDBPyConnection, bool]:
    """A pooled connection (or a new one); the flag says whether it is new."""
    with _POOL_LOCK:
        idle = _POOL.get((cfg, read_only))
        if idle:
            return idle.pop(), False
    return connect(cfg, read_only=read_only), True


def release(cfg: LakeConfig, con: duckdb.DuckDBPyConnection, read_only: bool, reusable: bool) -> None:
    """Back to the pool, or closed when it failed (its state is then unknown) or the pool is full."""
    if reusable and os.getpid() == _PID:
        with _POOL_LOCK:
            idle = _POOL.setdefault((cfg, read_only), [])
            if len(idle) < _POOL_MAX_IDLE:
                idle.append(con)
                return
    close(con)


def close_pool() -> None:
    with _POOL_LOCK:
        cons = [c for idle in _POOL.values() for c in idle]
        _POOL.clear()
    for con in cons:
        with contextlib.suppress(Exception):
            close(con)


_PID = os.getpid()


def _after_fork() -> None:  # a forked child must not use its parent's connections
    global _PID
    _PID = os.getpid()
    _POOL.clear()
    _LAKE_CONNECTIONS.clear()


os.register_at_fork(after_in_child=_after_fork)


class LockTimeout(BackendError):
    pass


@contextlib.contextmanager
def writer_lock(cfg: LakeConfig, wait: float) -> Iterator[None]:
    """The lake's writer lock: a PostgreSQL session-level advisory lock, held by a dedicated
    connection. It dies with its process (PostgreSQL releases it when the session ends)."""
    conninfo = cfg.postgres_conninfo
    if conninfo is None:  # a DuckDB/SQLite catalog file: DuckLake itself allows one writer only
        yield
        return
    import psycopg

    try:
        pg = psycopg.connect(conninfo, autocommit=True, connect_timeout=max(1, int(min(wait, 30)) or 1))
    except psycopg.OperationalError as exc:
        raise BackendError(f"Cannot reach the DuckLake catalog database ({conninfo}): "
                           f"{str(exc).strip().splitlines()[0]}") from None
    try:
        pg.execute(f"SET lock_timeout = '{max(1, int(wait * 1000))}ms'")
        try:
            pg.execute("SELECT pg_advisory_lock(%s)", [cfg.lock_key])
        except psycopg.errors.LockNotAvailable:
            raise LockTimeout(f"another writer held the lake's writer lock for more than {wait:.0f} s") from None
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                pg.execute("SELECT pg_advisory_unlock(%s)", [cfg.lock_key])
    finally:
        pg.close()


def postgres_reachable(conninfo: str = DEFAULT_CATALOG[len("postgres:"):], timeout: int = 3) -> str | None:
    """None when PostgreSQL answers, else why not (for test skips)."""
    try:
        import psycopg
    except ModuleNotFoundError:
        return "the psycopg package is not installed"
    try:
        with psycopg.connect(conninfo, connect_timeout=timeout) as pg:
            pg.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means: not usable here
        return f"PostgreSQL not reachable ({conninfo}): {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}"
    return None


# -- schema translation --------------------------------------------------------------------------

def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def _split_top(body: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    cur: list[str] = []
    for ch in body:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


_CREATE_TABLE = re.compile(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\((.*?)\)\s*;", re.S | re.I)


def _table_def(body: str) -> tuple[list[str], list[tuple[str, ...]]]:
    """Column definitions without key constraints, and the keys (primary key first)."""
    columns: list[str] = []
    keys: list[tuple[str, ...]] = []
    for item in _split_top(body):
        m = re.fullmatch(r"PRIMARY\s+KEY\s*\(([^)]*)\)", item, re.I)
        if m:
            keys.insert(0, tuple(c.strip() for c in m.group(1).split(",")))
            continue
        m = re.fullmatch(r"UNIQUE\s*\(([^)]*)\)", item, re.I)
        if m:
            keys.append(tuple(c.strip() for c in m.group(1).split(",")))
            continue
        name = item.split()[0]
        if re.search(r"\bPRIMARY\s+KEY\b", item, re.I):
            keys.insert(0, (name,))
        elif re.search(r"\bUNIQUE\b", item, re.I):
            keys.append((name,))
        if re.search(r"\bPRIMARY\s+KEY\b", item, re.I) and not re.search(r"\bNOT\s+NULL\b", item, re.I):
            item = re.sub(r"\s+PRIMARY\s+KEY\b", " NOT NULL", item, flags=re.I)
        item = re.sub(r"\s+PRIMARY\s+KEY\b", "", item, flags=re.I)
        item = re.sub(r"\s+UNIQUE\b", "", item, flags=re.I)
        item = re.sub(r"\s+DEFAULT\s+\[\s*\]", "", item, flags=re.I)  # DuckLake: no LIST defaults
        columns.append(item)
    return columns, keys


def translate_ddl(sql: str) -> str:
    """A migration for DuckLake: no PRIMARY KEY/UNIQUE (enforced by anti-joins and the writer
    lock instead), no indexes, no LIST defaults (every insert names those columns)."""
    sql = _strip_comments(sql)
    sql = re.sub(r"CREATE\s+(UNIQUE\s+)?INDEX\b[^;]*;", "", sql, flags=re.I)

    def table(m: re.Match) -> str:
        columns, _ = _table_def(m.group(2))
        cols = ",\n    ".join(columns)
        return f"CREATE TABLE {m.group(1)} (\n    {cols}\n);"

    return _CREATE_TABLE.sub(table, sql)


def table_keys(sqls: list[str]) -> dict[str, list[tuple[str, ...]]]:
    """table -> its unique keys (primary key first), read from the migrations' DDL."""
    out: dict[str, list[tuple[str, ...]]] = {}
    for sql in sqls:
        for m in _CREATE_TABLE.finditer(_strip_comments(sql)):
            _, keys = _table_def(m.group(2))
            if keys:
                out[m.group(1)] = keys
    return out


# -- shards --------------------------------------------------------------------------------------

def parse_shard(text: str) -> tuple[int, int]:
    """'i/N' (0 <= i < N) -> (i, N)."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not m or int(m.group(2)) < 1 or int(m.group(1)) >= int(m.group(2)):
        raise BackendError(f"shard {text!r}: write it as i/N with 0 <= i < N, e.g. 0/3.")
    return int(m.group(1)), int(m.group(2))


def shard_of(feed_name: str, n: int) -> int:
    """A feed's shard: a stable hash of its name (the same on every machine and Python) mod N."""
    return int.from_bytes(hashlib.sha256(feed_name.encode("utf-8")).digest()[:8], "big") % n

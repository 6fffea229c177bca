"""Ingestion writes and reads. Every multi-row write is one bulk statement over an Arrow table.

Per-row INSERTs are 300-700x slower in DuckDB than one ``INSERT ... SELECT`` over
Arrow (see benchmarks/), so rows are gathered per batch and written at once.
"""

from __future__ import annotations

import re

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from warehouse import backend

ARTICLE_COLUMNS = (
    "article_id", "url", "original_url", "final_url", "feed_name", "title", "author",
    "site_name", "language", "published", "published_source", "published_precision", "text", "text_source",
    "content_hash", "duplicate_of", "http_status", "fetch_error", "fetched_at", "run_id",
)
FEED_STATE_COLUMNS = (
    "feed_name", "etag", "last_modified", "last_status", "last_outcome", "last_error",
    "last_error_kind", "last_warning", "consecutive_failures", "last_attempt_at",
    "last_success_at", "next_attempt_at", "last_entry_at", "typical_interval_s", "ttl_s",
    "entries_last",
)
RUN_COUNTERS = (
    "feeds_total", "feeds_due", "feeds_ok", "feeds_not_modified", "feeds_failed",
    "entries_seen", "articles_known", "pages_fetched", "pages_failed", "articles_new",
    "duplicates", "fallbacks", "errors", "events_new", "mentions_new", "alerts_new", "alerts_sent",
    "alerts_failed",
)


_TYPES: dict[tuple[str, bool], dict[str, str]] = {}


def schema_of(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name -> type. Remembered per table (and backend): every write connection is migrated
    to this code's schema version before use (``warehouse.db.open_writer``), so a table's types
    cannot differ between two connections of one process, and the catalog query cost 2-20 ms
    each time, ten times per stored batch (profile of a 2,000-article run: 3.7 s)."""
    key = (table, backend.is_lake(con))
    types = _TYPES.get(key)
    if types is None:
        types = {
            name: dtype
            for name, dtype in con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?",
                [table],
            ).fetchall()
        }
        if types:  # a table that does not exist yet is not remembered as empty
            _TYPES[key] = types
    return dict(types)


def to_arrow(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> pa.Table:
    """Column-wise Arrow table; unknown or missing keys are a programming error."""
    for row in rows:
        extra = set(row) - set(columns)
        if extra:
            raise KeyError(f"unexpected columns {sorted(extra)}")
    return pa.table({c: [row.get(c) for row in rows] for c in columns})


def bulk_insert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    on_conflict: str | None = "DO NOTHING",
    conflict_target: str = "",
) -> int:
    """INSERT ... SELECT over an Arrow view, with explicit casts to the table's types.

    On the shared DuckLake (no primary keys there) the conflict clause becomes an anti-join on
    the table's keys, which the lake's writer lock makes safe across processes."""
    if not rows:
        return 0
    if backend.is_lake(con):
        return _lake_bulk_insert(con, table, rows, columns, on_conflict, conflict_target)
    types = schema_of(con, table)
    src = to_arrow(rows, columns)
    view = f"_src_{table}"
    con.register(view, src)
    try:
        select = ", ".join(f'CAST("{c}" AS {types[c]}) AS "{c}"' for c in columns)
        cols = ", ".join(f'"{c}"' for c in columns)
        conflict = f" ON CONFLICT {conflict_target} {on_conflict}" if on_conflict else ""
        # The INSERT answers with the number of rows it added (conflicting rows not counted).
        return con.execute(f"INSERT INTO {table} ({cols}) SELECT {select} FROM {view}{conflict}").fetchone()[0]
    finally:
        con.unregister(view)


def _lake_bulk_insert(con, table: str, rows, columns, on_conflict: str | None, conflict_target: str) -> int:
    from warehouse.db import TABLE_KEYS

    keys = TABLE_KEYS.get(table, []) if on_conflict else []
    if not keys:
        return _plain_lake_insert(con, table, rows, columns)
    types = schema_of(con, table)
    src = to_arrow(rows, columns).append_column("_ord", pa.array(range(len(rows)), pa.int64()))
    view = f"_src_{table}"
    con.register(view, src)
    try:
        casts = ", ".join(f'CAST("{c}" AS {types[c]}) AS "{c}"' for c in columns)
        dedup = " AND ".join(
            f"row_number() OVER (PARTITION BY {', '.join(k)} ORDER BY _ord) = 1" for k in keys)
        staged = f"(SELECT {casts} FROM {view} QUALIFY {dedup})"
        cols = ", ".join(f'"{c}"' for c in columns)
        before = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        action = (on_conflict or "").strip()  # keys are only looked up when on_conflict is given
        if action.upper().startswith("DO UPDATE SET"):
            sets = re.sub(r"\bexcluded\.", "_s.", action[len("DO UPDATE SET"):], flags=re.I)
            target = tuple(c.strip() for c in conflict_target.strip().strip("()").split(",") if c.strip()) or keys[0]
            match = " AND ".join(f"{table}.{c} = _s.{c}" for c in target)
            con.execute(f"UPDATE {table} SET {sets} FROM {staged} _s WHERE {match}")
        elif action.upper() != "DO NOTHING":
            raise ValueError(f"unsupported conflict action on DuckLake: {on_conflict!r}")
        absent = " AND ".join(
            "NOT EXISTS (SELECT 1 FROM {t} _t WHERE {cond})".format(
                t=table, cond=" AND ".join(f"_t.{c} = _s.{c}" for c in k))
            for k in keys)
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {staged} _s WHERE {absent}")
        after = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        return after - before
    finally:
        con.unregister(view)


def _plain_lake_insert(con, table: str, rows, columns) -> int:
    types = schema_of(con, table)
    view = f"_src_{table}"
    con.register(view, to_arrow(rows, columns))
    try:
        select = ", ".join(f'CAST("{c}" AS {types[c]}) AS "{c}"' for c in columns)
        cols = ", ".join(f'"{c}"' for c in columns)
        before = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {select} FROM {view}")
        after = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        return after - before
    finally:
        con.unregister(view)


# -- feeds ---------------------------------------------------------------------------------------

def sync_feeds(con: duckdb.DuckDBPyConnection, feeds: Iterable[dict[str, Any]], now: datetime,
               shard: str | None = None) -> None:
    """Make the feeds table mirror the registry file (feeds removed from the file stay, disabled).
    ``shard`` ("i/N"): the file is that shard's share of the registry."""
    rows = [dict(f, updated_at=now) for f in feeds]
    names = [r["name"] for r in rows]
    # A shard worker ("i/N") sees only its share of the registry, so it cannot tell a feed that
    # left the file from one another shard holds: the fan-out's coordinator, which reads the
    # whole registry, disables those (warehouse.fanout.disable_feeds_missing).
    if shard is None:
        con.execute(
            "UPDATE feeds SET enabled = FALSE, updated_at = ? WHERE NOT list_contains(?, name)",
            [now, names],
        )
    con.execute("DELETE FROM feeds WHERE list_contains(?, name)", [names])
    bulk_insert(con, "feeds", rows, ("name", "url", "tags", "language", "enabled", "trusted", "updated_at"))


def load_feed_states(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    cur = con.execute(f"SELECT {', '.join(FEED_STATE_COLUMNS)} FROM feed_state")
    return {row[0]: dict(zip(FEED_STATE_COLUMNS, row)) for row in cur.fetchall()}


def source_yield(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Per source (feed, sitemap or page): articles it brought, distinct events found in them
    (mentions a rule change retracted are not counted), and when it last brought an article it had
    not listed before."""
    rows = con.execute(
        "SELECT f.feed_name, count(DISTINCT f.article_id), count(DISTINCT m.event_id), max(f.first_seen) "
        "FROM article_feeds f LEFT JOIN event_mentions m ON m.article_id = f.article_id AND m.retracted_at IS NULL "
        "GROUP BY f.feed_name"
    ).fetchall()
    return {name: {"articles": a, "events": e, "last_new": last} for name, a, e, last in rows}


def save_feed_states(con: duckdb.DuckDBPyConnection, states: Sequence[dict[str, Any]]) -> None:
    if not states:
        return
    names = [s["feed_name"] for s in states]
    con.execute("DELETE FROM feed_state WHERE list_contains(?, feed_name)", [names])
    bulk_insert(con, "feed_state", states, FEED_STATE_COLUMNS)


# -- articles ------------------------------------------------------------------------------------

def known_article_ids(con: duckdb.DuckDBPyConnection, article_ids: Sequence[str]) -> set[str]:
    if not article_ids:
        return set()
    con.register("_ids", pa.table({"article_id": list(article_ids)}))
    try:
        rows = con.execute(
            "SELECT a.article_id FROM articles a JOIN _ids USING (article_id)"
        ).fetchall()
    finally:
        con.unregister("_ids")
    return {r[0] for r in rows}


def first_copies(con: duckdb.DuckDBPyConnection, hashes: Sequence[str]) -> dict[str, str]:
    """content_hash -> article_id of the earliest stored article with that text."""
    if not hashes:
        return {}
    con.register("_h", pa.table({"content_hash": list(hashes)}))
    try:
        rows = con.execute(
            "SELECT a.content_hash, arg_min(a.article_id, a.fetched_at) FROM articles a "
            "JOIN _h USING (content_hash) WHERE a.duplicate_of IS NULL GROUP BY 1"
        ).fetchall()
    finally:
        con.unregister("_h")
    return dict(rows)


def record_sightings(con: duckdb.DuckDBPyConnection, sightings: Sequence[dict[str, Any]]) -> None:
    bulk_insert(con, "article_feeds", sightings, ("article_id", "feed_name", "first_seen"))


def articles_to_reextract(con: duckdb.DuckDBPyConnection, every_article: bool, ruleset_version: str) -> list[str]:
    """Ids of the articles with text whose stored extraction came from another rule-set version
    (every article with text when ``every_article``), oldest first."""
    return [r[0] for r in con.execute("""
        SELECT a.article_id FROM articles a LEFT JOIN article_extractions x USING (article_id)
        WHERE a.text IS NOT NULL AND (? OR x.ruleset_version IS DISTINCT FROM ?)
        ORDER BY a.published NULLS LAST, a.article_id""", [every_article, ruleset_version]).fetchall()]


ARTICLE_TEXT_COLUMNS = ("article_id", "published", "published_precision", "text")


def article_texts(con: duckdb.DuckDBPyConnection, article_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The stored text of these articles, with what dates it (``ARTICLE_TEXT_COLUMNS``)."""
    con.register("_ids", pa.table({"article_id": list(article_ids)}))
    try:
        cur = con.execute(f"SELECT {', '.join(ARTICLE_TEXT_COLUMNS)} FROM articles JOIN _ids USING (article_id)")
        return [dict(zip(ARTICLE_TEXT_COLUMNS, r)) for r in cur.fetchall()]
    finally:
        con.unregister("_ids")


# -- runs ----------------------------------------------------------------------------------------

def abandon_running_runs(con: duckdb.DuckDBPyConnection) -> None:
    """Mark every run still 'running' as abandoned: call it only when the run lock proves that none is."""
    con.execute("UPDATE runs SET status = 'abandoned' WHERE status = 'running'")


def has_completed_run(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any run ever completed (the first run is a backfill)."""
    return con.execute("SELECT count(*) FROM runs WHERE status = 'completed'").fetchone()[0] > 0


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, flow_run_id: str | None, now: datetime) -> None:
    con.execute(
        "INSERT INTO runs (run_id, flow_run_id, started_at, status) VALUES (?, ?, ?, 'running')",
        [run_id, flow_run_id, now],
    )


def add_run_counts(con: duckdb.DuckDBPyConnection, run_id: str, counts: dict[str, int]) -> None:
    unknown = set(counts) - set(RUN_COUNTERS)
    if unknown:
        raise KeyError(f"unknown run counters {sorted(unknown)}")
    if not counts:
        return
    sets = ", ".join(f"{k} = coalesce({k}, 0) + ?" for k in counts)
    con.execute(f"UPDATE runs SET {sets} WHERE run_id = ?", [*counts.values(), run_id])


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str, now: datetime, message: str | None) -> None:
    con.execute(
        "UPDATE runs SET status = ?, finished_at = ?, message = ?, "
        "errors = (SELECT count(*) FROM run_errors WHERE run_id = ? AND kind NOT IN ('warning', 'future_date')) "
        "WHERE run_id = ?",
        [status, now, message, run_id, run_id],
    )


def record_errors(con: duckdb.DuckDBPyConnection, errors: Sequence[dict[str, Any]]) -> None:
    bulk_insert(con, "run_errors", errors, ("run_id", "scope", "subject", "kind", "message", "occurred_at"),
                on_conflict=None)


def get_run(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    cur = con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id])
    cols = [d[0] for d in cur.description]
    row = cur.fetchone()
    return dict(zip(cols, row)) if row else {}


# -- checks --------------------------------------------------------------------------------------

def duplicate_keys(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The post-commit uniqueness check: for every key of every table (primary keys and UNIQUE
    columns of the migrations), how many key values occur more than once. Empty when all is well.
    On the DuckDB file the constraints make this empty by construction; on DuckLake it checks
    the anti-joins and the writer lock."""
    from warehouse.db import TABLE_KEYS

    out = {}
    for table, keys in sorted(TABLE_KEYS.items()):
        for key in keys:
            cols = ", ".join(key)
            n = con.execute(
                f"SELECT count(*) FROM (SELECT {cols} FROM {table} GROUP BY {cols} HAVING count(*) > 1)"
            ).fetchone()[0]
            if n:
                out[f"{table}({cols})"] = n
    return out

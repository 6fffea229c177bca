"""Read access: analyst SQL on a read-only connection, event filters, as-of views, exports.

A query made while an ingest is writing waits (bounded) for the writer's current batch to
commit: the ingest flow holds the file only for the length of one batch write.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from warehouse.db import LOCK_WAIT_SECONDS, ReadOnlyViolation, WarehouseError, read_connection

FORMATS = ("table", "csv", "json", "parquet")


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple]


_WRITE_WORDS = re.compile(
    r"^\s*(insert|update|delete|create|drop|alter|copy|attach|detach|install|load|pragma|set|vacuum|"
    r"checkpoint|import|export|truncate|call|begin|commit|rollback)\b", re.I)


def run_query(db: Path, sql: str, params: Sequence[Any] | None = None,
              wait: float = LOCK_WAIT_SECONDS) -> QueryResult:
    """Run one statement read-only. A statement that would write is refused before it runs (and
    the connection is read-only anyway, so nothing could be written)."""
    writes = _WRITE_WORDS.match(_strip_comments(sql))
    if writes:
        word = writes.group(1).upper()
        raise ReadOnlyViolation(
            f"`defwatch query` is read-only: {word} statements are refused and nothing was changed. "
            f"Use SELECT (or WITH … SELECT, DESCRIBE, SHOW, SUMMARIZE) to read the log."
        )
    with read_connection(db, wait=wait) as con:
        try:
            cur = con.execute(sql, list(params or []))
        except duckdb.InvalidInputException as exc:
            if "read-only" in str(exc):
                raise ReadOnlyViolation(
                    f"`defwatch query` is read-only and refused this statement; nothing was changed. ({exc})"
                ) from None
            raise WarehouseError(f"query failed: {exc}") from None
        except duckdb.Error as exc:
            raise WarehouseError(f"query failed: {str(exc).splitlines()[0]}") from None
        if cur.description is None:
            return QueryResult([], [])
        return QueryResult([d[0] for d in cur.description], cur.fetchall())


def _strip_comments(sql: str) -> str:
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.S)
    return re.sub(r"--[^\n]*", " ", sql)


def _jsonable(v: Any) -> Any:
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (bytes, bytearray)):
        return v.hex()
    return v


def to_csv(res: QueryResult) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(res.columns)
    for row in res.rows:
        w.writerow(["|".join(map(str, v)) if isinstance(v, list) else ("" if v is None else v) for v in row])
    return buf.getvalue()


def to_json(res: QueryResult) -> str:
    return json.dumps([dict(zip(res.columns, map(_jsonable, row))) for row in res.rows], ensure_ascii=False, indent=1)


def write_parquet(db: Path, sql: str, out: Path, params: Sequence[Any] | None = None) -> int:
    """COPY a read-only query to Parquet (DuckDB writes the file; the database is only read)."""
    if _WRITE_WORDS.match(_strip_comments(sql)):
        raise ReadOnlyViolation("only SELECT queries can be exported")
    out.parent.mkdir(parents=True, exist_ok=True)
    with read_connection(db) as con:
        rel = con.sql(sql, params=list(params or [])) if params else con.sql(sql)
        rel.write_parquet(str(out))
        return con.execute("SELECT count(*) FROM read_parquet(?)", [str(out)]).fetchone()[0]


# -- events ---------------------------------------------------------------------------------------

EVENT_LIST_COLUMNS = ("event_id", "type", "parties", "status", "date", "location", "mention_count", "confidence",
                      "first_seen", "evidence")
EVENT_TABLE_COLUMNS = ("event_id", "type", "array_to_string(parties, ', ') AS parties", "status", "date", "location", "mention_count AS reports", "evidence")


def events_sql(type_: str | None = None, parties: Sequence[str] = (), status: str | None = None,
               since: str | None = None, until: str | None = None, as_of: str | None = None,
               limit: int | None = 100, columns: Sequence[str] = EVENT_LIST_COLUMNS) -> tuple[str, list[Any]]:
    """SQL and parameters for `defwatch events`. --since/--until filter on the event's own date
    (an event whose date range overlaps the window); --as-of shows the log as known then."""
    where, params = [], []
    if as_of:
        source = ("(SELECT a.*, e.evidence, e.confidence, e.first_seen, e.date_start, e.date_end "
                  "FROM events_as_of(CAST(? AS TIMESTAMPTZ)) a JOIN events e USING (event_id))")
        params.append(as_of)
        # Date ranges for as-of rows come from their own date.
        date_start, date_end = "(CASE length(date) WHEN 4 THEN date || '-01-01' WHEN 7 THEN date || '-01' ELSE date END)::DATE", \
            "(CASE length(date) WHEN 4 THEN date || '-12-31' WHEN 7 THEN last_day((date || '-01')::DATE)::VARCHAR ELSE date END)::DATE"
    else:
        source = "events"
        where.append("retracted_at IS NULL")
        date_start, date_end = "date_start", "date_end"
    if type_:
        where.append("type = ?")
        params.append(type_)
    for p in parties:
        where.append("list_contains(parties, ?)")
        params.append(p)
    if status:
        where.append("status = ?")
        params.append(status)
    if since:
        where.append(f"{date_end} >= CAST(? AS DATE)")
        params.append(since)
    if until:
        where.append(f"{date_start} <= CAST(? AS DATE)")
        params.append(until)
    cols = ", ".join(columns)
    sql = f"SELECT {cols} FROM {source}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {date_end} DESC NULLS LAST, first_seen DESC, event_id"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return sql, params


def export(db: Path, out_dir: Path, fmt: str) -> dict[str, Path]:
    """Write events and event_mentions to ``out_dir`` as parquet, csv or json."""
    if fmt not in ("parquet", "csv", "json"):
        raise WarehouseError(f"unknown export format {fmt!r}: use parquet, csv or json")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for table in ("events", "event_mentions", "event_history"):
        path = out_dir / f"{table}.{fmt}"
        sql = f"SELECT * FROM {table}"
        if fmt == "parquet":
            write_parquet(db, sql, path)
        else:
            res = run_query(db, sql)
            path.write_text(to_csv(res) if fmt == "csv" else to_json(res), encoding="utf-8")
        written[table] = path
    return written

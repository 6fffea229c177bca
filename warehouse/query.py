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


# "The event has party ?", on parties_key (the sorted names joined with '|', written with parties:
# warehouse.identity.parties_key) rather than list_contains(parties, ?): a string search on a
# dictionary-compressed column is ~6x cheaper than unpacking a million lists (12 vs 70 ms at 1M
# events). The same rows, as long as no canonical name contains '|' (which the identity key,
# and so every event_id, assumes too). "{}" takes an optional table alias.
_PARTY = "contains('|' || {0}parties_key || '|', '|' || ? || '|')"


def events_sql(type_: str | None = None, parties: Sequence[str] = (), status: str | None = None,
               since: str | None = None, until: str | None = None, as_of: str | None = None,
               limit: int | None = 100, columns: Sequence[str] = EVENT_LIST_COLUMNS) -> tuple[str, list[Any]]:
    """SQL and parameters for `defwatch events`. --since/--until filter on the event's own date
    (an event whose date range overlaps the window); --as-of shows the log as known then.

    Rows: newest event date first (undated last), then most recently seen, then event_id."""
    if as_of:
        return _events_as_of_sql(type_, parties, status, since, until, as_of, limit, columns)
    where, params = ["retracted_at IS NULL"], []
    if type_:
        where.append("type = ?")
        params.append(type_)
    for p in parties:
        where.append(_PARTY.format(""))
        params.append(p)
    if status:
        where.append("status = ?")
        params.append(status)
    if since:
        where.append("date_end >= CAST(? AS DATE)")
        params.append(since)
    if until:
        where.append("date_start <= CAST(? AS DATE)")
        params.append(until)
    cond = " AND ".join(where)
    cols = ", ".join(columns)
    order = "ORDER BY date_end DESC NULLS LAST, first_seen DESC, event_id"
    if not limit:
        return f"SELECT {cols} FROM events WHERE {cond} {order}", params
    n = int(limit)
    # A plain ORDER BY … LIMIT over ~1M matching rows reads every selected column of every row,
    # and sorting on event_id decompresses all the ids: ~130 ms at 1M events. Instead:
    #  1. `top`: the first n rows by (date_end, first_seen) alone, reading two narrow columns;
    #  2. rows that tie with the last of them on (date_end, first_seen) could still win on
    #     event_id, so they are added (`edge`: usually one row; found through first_seen's
    #     zone maps). Every row of the true first n is in top ∪ ties: a row with a greater key
    #     is in top, and a row with a smaller key has n rows before it.
    #  3. only those rows are read whole (by rowid) and ordered on the full key.
    sql = (f"WITH top AS MATERIALIZED (SELECT rowid AS rid, date_end AS k1, first_seen AS k2 FROM events "
           f"WHERE {cond} ORDER BY k1 DESC NULLS LAST, k2 DESC LIMIT {n}), "
           f"edge AS (SELECT k1, k2 FROM top ORDER BY k1 ASC NULLS FIRST, k2 ASC LIMIT 1) "
           f"SELECT {cols} FROM events WHERE rowid IN (SELECT rid FROM top UNION "
           f"SELECT events.rowid FROM events JOIN edge ON first_seen = edge.k2 AND date_end IS NOT DISTINCT FROM edge.k1 "
           f"WHERE {cond}) {order} LIMIT {n}")
    return sql, params + params


# The event's state at t: the last event_history row learned by then; among rows learned at the same
# instant a change before 'created'. The same key as migration 004's events_as_of(t).
_AS_OF_STATE = ("arg_max({'status': status, 'date': date, 'date_precision': date_precision, 'location': location, "
                "'retracted': retracted, 'learned_at': learned_at}, "
                "epoch_us(learned_at) * 2 + CAST(change <> 'created' AS BIGINT))")
# Date ranges of as-of rows come from their own (as-of) date.
_AS_OF_START = ("(CASE length(s.date) WHEN 4 THEN s.date || '-01-01' WHEN 7 THEN s.date || '-01' "
                "ELSE s.date END)::DATE")
_AS_OF_END = ("(CASE length(s.date) WHEN 4 THEN s.date || '-12-31' WHEN 7 THEN last_day((s.date || '-01')::DATE)::VARCHAR "
              "ELSE s.date END)::DATE")


def _events_as_of_sql(type_, parties, status, since, until, as_of, limit, columns) -> tuple[str, list[Any]]:
    """`events_as_of(t)` joined with events, filtered, ordered and limited, in one statement
    that does less: the filters on what never changes (type, parties) apply before the history is
    aggregated, and mentions are counted only for the rows returned (the macro aggregates all
    history and counts all 2M mentions at 1M events before any filter or LIMIT).

    Columns available: those of events_as_of(t) plus evidence, confidence, first_seen and the
    current date_start/date_end of events (what the earlier `… events_as_of(t) a JOIN events e`
    exposed)."""
    fixed, fixed_params = [], []  # conditions as "{}"-templates on an events alias
    if type_:
        fixed.append("{}type = ?")
        fixed_params.append(type_)
    for p in parties:
        fixed.append(_PARTY)
        fixed_params.append(p)
    state, state_params = ["NOT s.retracted"], []
    if status:
        state.append("s.status = ?")
        state_params.append(status)
    if since:
        state.append(f"{_AS_OF_END} >= CAST(? AS DATE)")
        state_params.append(since)
    if until:
        state.append(f"{_AS_OF_START} <= CAST(? AS DATE)")
        state_params.append(until)
    t = "CAST(? AS TIMESTAMPTZ)"
    params: list[Any] = [as_of]
    history = f"SELECT event_id, {_AS_OF_STATE} AS s FROM event_history WHERE learned_at <= {t}"
    if fixed:
        history += f" AND event_id IN (SELECT event_id FROM events WHERE {' AND '.join(c.format('') for c in fixed)})"
        params += fixed_params
    history += " GROUP BY event_id"
    e_fixed = "".join(" AND " + c.format("e.") for c in fixed)
    params += state_params + fixed_params
    order = "ORDER BY k DESC NULLS LAST, first_seen DESC, event_id"
    lim = f" LIMIT {int(limit)}" if limit else ""
    shown = (f"SELECT e.event_id, e.type, e.parties, s.status, s.date, s.date_precision, s.location, "
             f"s.learned_at AS as_of_change, e.evidence, e.confidence, e.first_seen, e.date_start, e.date_end, "
             f"{_AS_OF_END} AS k FROM ({history}) h JOIN events e USING (event_id) "
             f"WHERE {' AND '.join(state)}{e_fixed} {order}{lim}")
    counts = (f"SELECT event_id, count(*) AS mention_count FROM event_mentions "
              f"WHERE event_id IN (SELECT event_id FROM shown) AND extracted_at <= {t} "
              f"AND (retracted_at IS NULL OR retracted_at > {t}) GROUP BY 1")
    params += [as_of, as_of]
    sql = (f"WITH shown AS MATERIALIZED ({shown}) "
           f"SELECT {', '.join(columns)} FROM (SELECT shown.* EXCLUDE (k), coalesce(c.mention_count, 0) AS mention_count, k "
           f"FROM shown LEFT JOIN ({counts}) c USING (event_id)) {order}")
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

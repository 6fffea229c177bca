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

from warehouse.db import LOCK_WAIT_SECONDS, BadQueryError, ReadOnlyViolation, WarehouseError, read_connection

FORMATS = ("table", "csv", "json", "parquet")


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple]
    total: int | None = None  # rows the statement returned, when only the first ``len(rows)`` were fetched

    @property
    def row_count(self) -> int:
        return len(self.rows) if self.total is None else self.total

    @property
    def truncated(self) -> bool:
        return self.row_count > len(self.rows)


_WRITE_WORDS = re.compile(
    r"^\s*(insert|update|delete|create|drop|alter|copy|attach|detach|install|load|pragma|set|vacuum|"
    r"checkpoint|import|export|truncate|call|begin|commit|rollback)\b", re.I)


def run_query(db: Path, sql: str, params: Sequence[Any] | None = None,
              wait: float = LOCK_WAIT_SECONDS, max_rows: int | None = None) -> QueryResult:
    """Run one statement read-only. A statement that would write is refused before it runs (and
    the connection is read-only anyway, so nothing could be written).

    ``max_rows``: turn only the first rows into Python objects and count the rest (``total``).
    Making Python objects is what a large result costs: 18,000 rows with a list and a timestamp
    each take ~200 ms to fetch and ~25 ms to compute; the rest of them are counted through Arrow,
    without making a Python object each."""
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
            raise BadQueryError(f"query failed: {exc}") from None
        except duckdb.Error as exc:
            raise BadQueryError(f"query failed: {str(exc).splitlines()[0]}") from None
        if cur.description is None:
            return QueryResult([], [])
        columns = [d[0] for d in cur.description]
        if max_rows is None:
            return QueryResult(columns, cur.fetchall())
        # The whole result as Arrow (columnar, no Python object per value), then only its head
        # through DuckDB's own conversion, so the rows shown are the objects fetchall() would give
        # (a UUID column comes back as its text, which is how a table shows it anyway).
        table = cur.to_arrow_table()
        # (Columns renamed by position: a result may repeat a name, which an Arrow scan refuses.)
        head = table.slice(0, max_rows).rename_columns([f"c{i}" for i in range(table.num_columns)])
        head = con.from_arrow(head).fetchall() if table.num_rows else []
        return QueryResult(columns, head, table.num_rows)


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
                      "first_seen", "evidence", "judgement")
EVENT_TABLE_COLUMNS = ("event_id", "type", "array_to_string(parties, ', ') AS parties", "status", "date", "location", "mention_count AS reports", "judgement AS judged", "evidence")

# The analyst's judgement (warehouse/judgements.py): a rejected event, or one merged into another,
# is not shown unless asked for (`--all`).
_NOT_DISMISSED = "{0}judgement IS DISTINCT FROM 'rejected' AND {0}judgement IS DISTINCT FROM 'merged'"


# "The event has party ?", on parties_key (the sorted names joined with '|', written with parties:
# warehouse.identity.parties_key) rather than list_contains(parties, ?): a string search on a
# dictionary-compressed column is ~6x cheaper than unpacking a million lists (12 vs 70 ms at 1M
# events). The same rows, as long as no canonical name contains '|' (which the identity key,
# and so every event_id, assumes too). "{}" takes an optional table alias.
_PARTY = "contains('|' || {0}parties_key || '|', '|' || ? || '|')"


def events_sql(type_: str | None = None, parties: Sequence[str] = (), status: str | None = None,
               since: str | None = None, until: str | None = None, as_of: str | None = None,
               limit: int | None = 100, columns: Sequence[str] = EVENT_LIST_COLUMNS,
               all_: bool = False) -> tuple[str, list[Any]]:
    """SQL and parameters for `defwatch events`. --since/--until filter on the event's own date
    (an event whose date range overlaps the window); --as-of shows the log as known then, the
    analyst's judgements included; ``all_`` also shows rejected and merged events.

    Rows: newest event date first (undated last), then most recently seen, then event_id."""
    if as_of:
        return _events_as_of_sql(type_, parties, status, since, until, as_of, limit, columns, all_)
    shown = ["retracted_at IS NULL"] + ([] if all_ else [_NOT_DISMISSED.format("")])
    cond, params = _filters("", shown, [], type_, parties, status, since, until)
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


def _filters(alias: str, where: list[str], params: list[Any], type_, parties, status, since,
             until) -> tuple[str, list[Any]]:
    """The `defwatch events` filters as one condition. events and (since migration 005)
    event_history name these columns alike, so both forms use it; ``alias`` is "" or "h."."""
    if type_:
        where.append(f"{alias}type = ?")
        params.append(type_)
    for p in parties:
        where.append(_PARTY.format(alias))
        params.append(p)
    if status:
        where.append(f"{alias}status = ?")
        params.append(status)
    if since:
        where.append(f"{alias}date_end >= CAST(? AS DATE)")
        params.append(since)
    if until:
        where.append(f"{alias}date_start <= CAST(? AS DATE)")
        params.append(until)
    return " AND ".join(where), params


# The event's state at t: its event_history row that held then (migration 005's superseded_at).
_AS_OF_STATE = "h.learned_at <= {t} AND (h.superseded_at IS NULL OR h.superseded_at > {t}) AND NOT h.retracted"


_AS_OF_FROM_EVENTS = ("evidence", "confidence", "first_seen", "date_start", "date_end")


def _events_as_of_sql(type_, parties, status, since, until, as_of, limit, columns,
                      all_: bool = False) -> tuple[str, list[Any]]:
    """The log as known at ``as_of``, filtered, ordered and limited, in one statement that reads
    event_history alone until it knows which rows it shows.

    Each event's state at t is the one history row that held then (a filter, no aggregate), and
    the rows carry the event's type and parties_key and their state's date range (migration 005),
    so every filter applies there. The order is that of `defwatch events`: the as-of date (its
    range's end) newest first, undated last, then first_seen, then event_id. As in events_sql,
    the first n states by date alone are taken from narrow columns, plus every state that ties
    with the last of them on that date (first_seen or event_id may still put those first); only
    these are joined with events, whose first_seen decides, and only their mentions are counted.
    At 1M events: ~35 ms against 180-360 ms for 004's aggregate.

    Columns available: those of events_as_of(t) plus evidence, confidence, first_seen and the
    current date_start/date_end of events (what the earlier `… events_as_of(t) a JOIN events e`
    exposed)."""
    t = "CAST(? AS TIMESTAMPTZ)"
    state = [_AS_OF_STATE.format(t=t)] + ([] if all_ else [_NOT_DISMISSED.format("h.")])
    cond, params = _filters("h.", state, [as_of, as_of], type_, parties, status, since, until)
    order = "ORDER BY k DESC NULLS LAST, first_seen DESC, event_id"
    # Only the columns of events that are asked for (first_seen always: the order needs it).
    # Each is read row by row for the rows shown, one compressed vector per row: in a fresh
    # process that is most of the statement's time.
    wanted = set(re.findall(r"\w+", " ".join(columns)))
    from_events = [c for c in _AS_OF_FROM_EVENTS if c in wanted or c == "first_seen"]
    shown_cols = ", ".join(["e.event_id", "h.type", "string_split(h.parties_key, '|') AS parties", "h.status",
                            "h.date", "h.date_precision", "h.location", "h.learned_at AS as_of_change", "h.judgement",
                            *(f"e.{c}" for c in from_events), "h.date_end AS k"])
    if limit:
        n = int(limit)
        shown = (f"WITH state AS (SELECT h.rowid AS rid, h.date_end AS k FROM event_history h WHERE {cond}), "
                 f"top AS MATERIALIZED (SELECT rid, k FROM state ORDER BY k DESC NULLS LAST LIMIT {n}), "
                 f"edge AS (SELECT k FROM top ORDER BY k ASC NULLS FIRST LIMIT 1), "
                 f"picked AS (SELECT rid FROM top UNION SELECT state.rid FROM state JOIN edge "
                 f"ON state.k IS NOT DISTINCT FROM edge.k) "
                 f"SELECT {shown_cols} FROM event_history h JOIN events e USING (event_id) "
                 f"WHERE h.rowid IN (SELECT rid FROM picked) {order} LIMIT {n}")
    else:
        shown = f"SELECT {shown_cols} FROM event_history h JOIN events e USING (event_id) WHERE {cond} {order}"
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


def log_span(db: Path, parties: Sequence[str] = ()) -> tuple[Any, Any, set[str]]:
    """When the log first and last learned something (None, None when empty), and which of
    ``parties`` no event names: what `defwatch events` says when its filters match nothing."""
    with read_connection(db) as con:
        row = con.execute("SELECT min(learned_at), max(learned_at) FROM event_history").fetchone()
        first, last = row if row else (None, None)
        unknown = {p for p in parties
                   if not con.execute(f"SELECT 1 FROM events WHERE {_PARTY.format('')} LIMIT 1", [p]).fetchone()}
    return first, last, unknown

"""The read-only queries behind the analyst's views: the HTML report, the digest, the demo's article
table and the alert list (flows/ renders them; only warehouse/ speaks SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from warehouse.db import WarehouseError, read_connection
from warehouse.query import QueryResult, run_query


def rows_as_dicts(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | dict | None = None) -> list[dict]:
    """Every row of ``sql`` as a dict of column name to value."""
    cur = con.execute(sql, params or [])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def as_utc(dt: datetime | None) -> datetime | None:
    """A timestamp in UTC (a naive one is taken as UTC already)."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


# -- the HTML report ------------------------------------------------------------------------------

_REPORT_EVENTS_SQL = """
SELECT event_id, type, parties, status, date, date_start, date_end, location, evidence, confidence,
       mention_count, first_seen, last_seen, judgement
FROM events e
WHERE retracted_at IS NULL AND first_seen <= $end
  AND judgement IS DISTINCT FROM 'rejected' AND merged_into IS NULL  -- the analyst's word: not an event
  AND ($start IS NULL
       OR first_seen >= $start
       OR (last_seen >= $start AND last_seen <= $end)
       OR EXISTS (SELECT 1 FROM event_history h
                  WHERE h.event_id = e.event_id AND h.learned_at >= $start AND h.learned_at <= $end))
ORDER BY date_start DESC NULLS LAST, first_seen DESC, event_id
"""

_REPORT_CHANGED_SQL = """
SELECT e.event_id, list(DISTINCT h.change ORDER BY h.change) AS changes, any_value(e.retracted_at) AS retracted_at
FROM event_history h JOIN events e USING (event_id)
WHERE h.change <> 'created' AND h.learned_at <= $end AND ($start IS NULL OR h.learned_at >= $start)
  AND NOT ($start IS NOT NULL AND e.first_seen >= $start)
GROUP BY e.event_id
"""

_REPORT_MENTIONS_SQL = """
SELECT m.event_id, m.article_id, m.evidence, m.status, m.date, m.published,
       a.url, a.original_url, a.title, a.site_name, a.feed_name, a.published AS article_published
FROM event_mentions m LEFT JOIN articles a USING (article_id)
WHERE m.retracted_at IS NULL AND m.event_id IN (SELECT unnest($ids::VARCHAR[]))
ORDER BY m.event_id, coalesce(m.published, a.published) NULLS LAST, m.article_id
"""

_REPORT_FEEDS_SQL = """
SELECT coalesce(f.name, s.feed_name) AS name, f.enabled, s.consecutive_failures, s.last_outcome,
       s.last_error_kind, s.last_error, s.last_success_at
FROM feeds f FULL OUTER JOIN feed_state s ON s.feed_name = f.name
ORDER BY name
"""


def _report_data(con: duckdb.DuckDBPyConnection, start: datetime | None, end: datetime) -> dict:
    p = {"start": start, "end": end}
    total_events = con.execute("SELECT count(*) FROM events WHERE retracted_at IS NULL "
                               "AND judgement IS DISTINCT FROM 'rejected' AND merged_into IS NULL").fetchone()[0]
    events = rows_as_dicts(con, _REPORT_EVENTS_SQL, p)
    changed_rows = rows_as_dicts(con, _REPORT_CHANGED_SQL, p)
    retracted = {r["event_id"] for r in changed_rows if r["retracted_at"] is not None}
    changed = {r["event_id"]: r["changes"] for r in changed_rows if r["event_id"] not in retracted}
    # first_seen is NOT NULL in the schema
    new = {e["event_id"] for e in events if start is None or as_utc(e["first_seen"]) >= start}  # type: ignore[operator]
    mentions = rows_as_dicts(con, _REPORT_MENTIONS_SQL, {"ids": [e["event_id"] for e in events]}) if events else []
    feeds = rows_as_dicts(con, _REPORT_FEEDS_SQL)
    last_ok = con.execute(
        "SELECT max(coalesce(finished_at, started_at)) FROM runs WHERE status = 'completed'").fetchone()[0]
    last_run = rows_as_dicts(con, "SELECT run_id, started_at, finished_at, status FROM runs "
                                  "ORDER BY started_at DESC LIMIT 1")
    latest_learned = con.execute("SELECT max(first_seen) FROM events WHERE retracted_at IS NULL").fetchone()[0]
    articles = con.execute("SELECT count(*) FROM articles").fetchone()[0]
    return {"total_events": total_events, "events": events, "changed": changed, "retracted": retracted,
            "new": new, "mentions": mentions, "feeds": feeds, "last_ok": as_utc(last_ok),
            "last_run": last_run[0] if last_run else None, "latest_learned": as_utc(latest_learned),
            "articles": articles}


def report_data(db: Path, start: datetime | None, end: datetime) -> dict:
    """What the HTML report shows of the period ``start`` (None: all time) to ``end``: its events,
    which are new, changed or retracted, their mentions, the feeds' health and the last runs.
    A missing database, or one without an event log, raises ``WarehouseError``."""
    with read_connection(db) as con:
        try:
            return _report_data(con, start, end)
        except duckdb.CatalogException as exc:
            raise WarehouseError(
                f"{db} has no event log yet ({str(exc).splitlines()[0]}). Run `defwatch ingest` with "
                f"this version of defwatch first: it upgrades the database.") from None
        except duckdb.Error as exc:
            raise WarehouseError(f"could not read {db}: {str(exc).splitlines()[0]}") from None


# -- the digest -----------------------------------------------------------------------------------

def changes_since(db: Path, since: datetime) -> list[dict]:
    """Each live event with history learned since ``since``: its fields, the analyst's judgement
    and, in learning order, its changes (``changes``), their old values (``olds``), new values
    (``news``) and causes (``causes``: ingest, reextract or judgement)."""
    res = run_query(db, """
        SELECT e.event_id, e.type, e.parties, e.status, e.date, e.location, e.evidence, e.mention_count,
               e.judgement, list(h.change ORDER BY h.learned_at) AS changes,
               list(h.old_value ORDER BY h.learned_at) AS olds, list(h.new_value ORDER BY h.learned_at) AS news,
               list(h.cause ORDER BY h.learned_at) AS causes
          FROM event_history h JOIN events e USING (event_id)
         WHERE h.learned_at >= ? AND e.retracted_at IS NULL
         GROUP BY ALL ORDER BY e.type, e.date DESC NULLS LAST, e.event_id""", [since])
    return [dict(zip(res.columns, r)) for r in res.rows]


# -- the demo's article table ---------------------------------------------------------------------

def article_overview(db: Path) -> list[tuple]:
    """(feed, title or URL, text source, characters, is a copy, published day) of every stored
    article, newest first."""
    with read_connection(db) as con:
        return con.execute(
            "SELECT feed_name, coalesce(title, url), text_source, length(text), duplicate_of IS NOT NULL, "
            "strftime(published, '%Y-%m-%d') FROM articles ORDER BY published DESC NULLS LAST, url"
        ).fetchall()


# -- the alert list -------------------------------------------------------------------------------

def alert_deliveries(db: Path, status: str | None = None, limit: int | None = None) -> QueryResult:
    """Alerts and their deliveries, newest first (``status``: only deliveries in it; ``limit``:
    at most that many rows)."""
    sql = ("SELECT a.alert_id, a.kind, array_to_string(e.parties, ', ') AS parties, e.status AS event_status, "
           "d.channel_label AS channel, d.status, d.attempts, d.last_error, d.next_attempt_at, d.sent_at "
           "FROM alerts a JOIN alert_deliveries d USING (alert_id) JOIN events e USING (event_id)")
    params = []
    if status:
        sql += " WHERE d.status = ?"
        params.append(status)
    sql += " ORDER BY a.created_at DESC, a.alert_id, d.channel_key"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return run_query(db, sql, params)


# -- a run's errors -------------------------------------------------------------------------------

def run_errors_statement(run_id: str | None) -> str:
    """The statement a user pastes into ``defwatch query`` to see one run's errors."""
    return f"select * from run_errors where run_id = '{run_id}'"


def known_feeds(db: Path) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """What the database knows of feeds: {name: {url, tags, enabled, articles}} from the feeds
    table (the registry as last ingested) and {name: feed_state row}, for `defwatch feeds list`."""
    from warehouse.store import load_feed_states

    with read_connection(db) as con:
        rows = con.execute(
            "SELECT f.name, f.url, f.tags, f.enabled, coalesce(n.articles, 0) FROM feeds f "
            "LEFT JOIN (SELECT feed_name, count(*) AS articles FROM article_feeds GROUP BY feed_name) n "
            "ON n.feed_name = f.name ORDER BY f.name").fetchall()
        states = load_feed_states(con)
    feeds = {name: {"url": url, "tags": list(tags or []), "enabled": enabled, "articles": n}
             for name, url, tags, enabled, n in rows}
    return feeds, states

"""The alert outbox: rows written with the event change that caused them, deliveries recorded.

Exactly-once in the records: an alert's key makes a second insert impossible, and a delivery is
marked sent in its own short transaction right after the channel accepted it. A process killed
between those two steps re-sends that one alert on the next run; every message carries the alert
id (webhook header and body, e-mail Message-ID) so receivers can drop such a repeat.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from warehouse.store import bulk_insert

ALERT_COLUMNS = ("alert_id", "event_id", "kind", "value", "old_value", "rules", "created_at", "run_id")
DELIVERY_COLUMNS = ("alert_id", "channel_key", "channel_label", "status", "attempts", "last_error",
                    "last_attempt_at", "next_attempt_at", "sent_at")


def alert_id(event_id: str, kind: str, value: str | None) -> str:
    return hashlib.sha256(f"{event_id}|{kind}|{value or ''}".encode()).hexdigest()[:16]


def insert_alerts(con: duckdb.DuckDBPyConnection, alerts: Sequence[dict[str, Any]],
                  deliveries: Sequence[dict[str, Any]]) -> int:
    """Insert new alerts and their deliveries; an alert that exists already is left alone (and
    gets no new deliveries). Returns the number of alerts that were new."""
    if not alerts:
        return 0
    ids = [a["alert_id"] for a in alerts]
    con.register("_aids", pa.table({"alert_id": ids}))
    try:
        known = {r[0] for r in con.execute("SELECT alert_id FROM alerts JOIN _aids USING (alert_id)").fetchall()}
    finally:
        con.unregister("_aids")
    fresh = [a for a in alerts if a["alert_id"] not in known]
    fresh_ids = {a["alert_id"] for a in fresh}
    bulk_insert(con, "alerts", [{k: a[k] for k in ALERT_COLUMNS} for a in fresh], ALERT_COLUMNS)
    bulk_insert(con, "alert_deliveries", [d for d in deliveries if d["alert_id"] in fresh_ids], DELIVERY_COLUMNS)
    bulk_insert(con, "alert_holds", [{"alert_id": a["alert_id"], **a["hold"]} for a in fresh if a.get("hold")],
                HOLD_COLUMNS)
    return len(fresh)


HOLD_COLUMNS = ("alert_id", "min_reports", "min_feeds", "official_exempt", "on_timeout", "held_at", "hold_until")


def release_holds(con: duckdb.DuckDBPyConnection, now: datetime) -> dict[str, int]:
    """Decide every alert waiting for corroboration (``alert_holds`` not yet released), in the
    caller's transaction: corroborated (or reported by an official feed) -> its deliveries become
    pending; the window passed -> pending saying it is uncorroborated, or dropped, as the rule
    said; the event rejected or merged by an analyst -> withdrawn. Returns how many of each.

    Independent outlets: the distinct feeds that first brought an article reporting the event.
    A syndicated copy carries no text, so it has no mention and counts for nothing."""
    rows = con.execute("""
        SELECT h.alert_id, h.min_reports, h.min_feeds, h.official_exempt, h.on_timeout, h.hold_until,
               e.judgement, e.merged_into,
               (SELECT count(*) FROM event_mentions m WHERE m.event_id = a.event_id AND m.retracted_at IS NULL) AS reports,
               (SELECT count(DISTINCT ar.feed_name) FROM event_mentions m JOIN articles ar USING (article_id)
                 WHERE m.event_id = a.event_id AND m.retracted_at IS NULL AND ar.duplicate_of IS NULL) AS feeds,
               (SELECT count(*) FROM event_mentions m JOIN articles ar USING (article_id) JOIN feeds f ON f.name = ar.feed_name
                 WHERE m.event_id = a.event_id AND m.retracted_at IS NULL AND list_contains(f.tags, 'official')) > 0
                   AS official
          FROM alert_holds h JOIN alerts a USING (alert_id) JOIN events e USING (event_id)
         WHERE h.released_at IS NULL ORDER BY h.alert_id""").fetchall()
    out: dict[str, int] = {}
    for aid, min_reports, min_feeds, official_exempt, on_timeout, hold_until, judgement, merged, reports, feeds, official in rows:
        if judgement in ("rejected", "merged") or merged:
            outcome, status = "withdrawn", "withdrawn"
        elif official and official_exempt:
            outcome, status = "official", "pending"
        elif reports >= min_reports and feeds >= min_feeds:
            outcome, status = "corroborated", "pending"
        elif now >= hold_until:
            outcome, status = ("uncorroborated", "pending") if on_timeout == "send" else ("dropped", "dropped")
        else:
            continue
        con.execute("UPDATE alert_holds SET released_at = ?, outcome = ?, reports = ?, feeds = ? WHERE alert_id = ?",
                    [now, outcome, reports, feeds, aid])
        note = None if status == "pending" else (
            f"uncorroborated when its window closed: {reports} report(s) from {feeds} outlet(s)"
            if outcome == "dropped" else "the event was rejected or merged by an analyst")
        con.execute("UPDATE alert_deliveries SET status = ?, last_error = ? WHERE alert_id = ? AND status = 'held'",
                    [status, note, aid])
        out[outcome] = out.get(outcome, 0) + 1
    return out


def add_deliveries(con: duckdb.DuckDBPyConnection, deliveries: Sequence[dict[str, Any]]) -> int:
    """Deliveries for alerts that already exist (a --notify channel given later); idempotent."""
    return bulk_insert(con, "alert_deliveries", deliveries, DELIVERY_COLUMNS)


def count_due(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """How many pending deliveries are due now (0: a run has nothing to deliver)."""
    return con.execute("SELECT count(*) FROM alert_deliveries WHERE status = 'pending' "
                       "AND (next_attempt_at IS NULL OR next_attempt_at <= ?)", [now]).fetchone()[0]


def pending(con: duckdb.DuckDBPyConnection, now: datetime, channel_keys: Sequence[str] | None = None,
            include_not_due: bool = False) -> list[dict[str, Any]]:
    """Pending deliveries that are due, with what a message needs: the event and its reports."""
    where = ["d.status = 'pending'"]
    params: list[Any] = []
    if not include_not_due:
        where.append("(d.next_attempt_at IS NULL OR d.next_attempt_at <= ?)")
        params.append(now)
    if channel_keys is not None:
        where.append("list_contains(?, d.channel_key)")
        params.append(list(channel_keys))
    sql = f"""
        SELECT d.alert_id, d.channel_key, d.channel_label, d.attempts, a.kind, a.value, a.old_value, a.rules,
               a.created_at, e.event_id, e.type, e.parties, e.status, e.date, e.date_precision, e.location,
               e.evidence, e.confidence, e.mention_count, hd.outcome AS hold_outcome, hd.feeds AS hold_feeds,
               hd.reports AS hold_reports, hd.held_at, hd.released_at AS hold_released_at,
               (SELECT list(struct_pack(url := coalesce(ar.final_url, ar.original_url), title := ar.title,
                                        site := ar.site_name) ORDER BY ar.published DESC NULLS LAST)[1:5]
                  FROM event_mentions m JOIN articles ar USING (article_id)
                 WHERE m.event_id = e.event_id AND m.retracted_at IS NULL) AS articles
          FROM alert_deliveries d JOIN alerts a USING (alert_id) JOIN events e USING (event_id)
          LEFT JOIN alert_holds hd USING (alert_id)
         WHERE {' AND '.join(where)}
         ORDER BY a.created_at, a.alert_id, d.channel_key
    """
    cur = con.execute(sql, params)
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def mark_sent(con: duckdb.DuckDBPyConnection, alert_id_: str, channel_key: str, now: datetime) -> None:
    con.execute("UPDATE alert_deliveries SET status = 'sent', sent_at = ?, last_attempt_at = ?, "
                "attempts = attempts + 1, last_error = NULL, next_attempt_at = NULL "
                "WHERE alert_id = ? AND channel_key = ? AND status = 'pending'",
                [now, now, alert_id_, channel_key])


def mark_sent_many(con: duckdb.DuckDBPyConnection, pairs: Sequence[tuple[str, str]], now: datetime) -> None:
    """Mark several deliveries sent in one statement (for local channels, see flows.alerts.delivery)."""
    if not pairs:
        return
    con.register("_sent", pa.table({"alert_id": [p[0] for p in pairs], "channel_key": [p[1] for p in pairs]}))
    try:
        con.execute("UPDATE alert_deliveries SET status = 'sent', sent_at = ?, last_attempt_at = ?, "
                    "attempts = attempts + 1, last_error = NULL, next_attempt_at = NULL FROM _sent s "
                    "WHERE alert_deliveries.alert_id = s.alert_id AND alert_deliveries.channel_key = s.channel_key "
                    "AND alert_deliveries.status = 'pending'", [now, now])
    finally:
        con.unregister("_sent")


def mark_failed(con: duckdb.DuckDBPyConnection, alert_id_: str, channel_key: str, now: datetime, error: str,
                base_s: int, cap_s: int) -> None:
    attempts = con.execute("SELECT attempts FROM alert_deliveries WHERE alert_id = ? AND channel_key = ?",
                           [alert_id_, channel_key]).fetchone()[0] + 1
    wait = min(cap_s, base_s * 2 ** (attempts - 1))
    con.execute("UPDATE alert_deliveries SET attempts = ?, last_error = ?, last_attempt_at = ?, "
                "next_attempt_at = ? WHERE alert_id = ? AND channel_key = ?",
                [attempts, error[:1000], now, now + timedelta(seconds=wait), alert_id_, channel_key])


def make_due(con: duckdb.DuckDBPyConnection, channel_keys: Sequence[str] | None = None) -> int:
    """`defwatch alerts retry`: make every pending delivery due now."""
    sql = "UPDATE alert_deliveries SET next_attempt_at = NULL WHERE status = 'pending'"
    params: list[Any] = []
    if channel_keys is not None:
        sql += " AND list_contains(?, channel_key)"
        params.append(list(channel_keys))
    return con.execute(sql, params).fetchone()[0]


def watched_summits(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Planned or postponed-to-a-date summits with a day-precise date: the summit calendar."""
    cur = con.execute(
        "SELECT event_id, type, parties, status, date, location, confidence FROM events "
        "WHERE type = 'summit' AND retracted_at IS NULL AND date_precision = 'day' "
        "AND judgement IS DISTINCT FROM 'rejected' AND merged_into IS NULL "  # the analyst's word: not an event
        "AND (status IS NULL OR status IN ('planned', 'cancelled'))")
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def channel_keys_with_alerts(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT DISTINCT channel_key FROM alert_deliveries").fetchall()}

"""The analyst's judgements: confirm, reject, correct or merge an event; append-only, with who/when/why.

``record`` writes one judgement in one transaction: the ``judgements`` row, the event's judged
state on ``events``, one ``event_history`` row per change (cause ``judgement``), and for alerts:
a rejected event's pending deliveries are withdrawn, and a correction of an event that alerts
went out about queues one correction notice per channel that got them (its key makes it once).
``warehouse.eventlog`` re-applies corrections whenever it re-folds an event, so re-extraction and
new mentions never undo a judgement.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from warehouse import alerts as walerts
from warehouse.db import WarehouseError, read_connection, transaction, write_connection
from warehouse.eventlog import HISTORY_COLUMNS, _supersede_states
from warehouse.identity import date_range, parties_key, precision
from warehouse.query import QueryResult, run_query
from warehouse.store import bulk_insert

KINDS = ("confirm", "reject", "correct", "merge")
STATE = {"confirm": "confirmed", "reject": "rejected", "correct": "corrected", "merge": "merged"}
CORRECTABLE = ("type", "parties", "status", "date", "location")
JUDGEMENT_COLUMNS = ("judgement_id", "event_id", "kind", "fields", "other_event_id", "judged_by", "note",
                     "judged_at")
TYPES = ("partnership", "summit")


class EventIdError(WarehouseError):
    """An event id (prefix) that names no event, or more than one: bad input, exit 2."""

    exit_code = 2


class JudgementError(WarehouseError):
    """A judgement that cannot be recorded as given (nothing to correct, a merge with itself)."""

    exit_code = 2


@dataclass
class Judged:
    judgement_id: str
    event_id: str
    kind: str
    type: str
    parties: list[str]
    changed: dict[str, tuple[Any, Any]]
    other_event_id: str | None
    judged_by: str
    withdrawn: int = 0      # pending alert deliveries withdrawn (reject, merge)
    notices: int = 0        # correction notices queued


def resolve(con: duckdb.DuckDBPyConnection, prefix: str) -> str:
    """The one event whose id starts with ``prefix`` (any length); one clear error otherwise."""
    p = (prefix or "").strip().lower()
    if not p or not re.fullmatch(r"[0-9a-f~]+", p):
        raise EventIdError(f"{prefix!r} is not an event id: ids are hex digits, e.g. 3f01a2b4 "
                           f"(`defwatch review` and `defwatch events --all` list them).")
    rows = [r[0] for r in con.execute("SELECT event_id FROM events WHERE starts_with(event_id, ?) "
                                      "ORDER BY event_id LIMIT 4", [p]).fetchall()]
    if not rows:
        raise EventIdError(f"no event has an id starting with {p!r}: `defwatch review` and "
                           f"`defwatch events --all` list the ids.")
    if len(rows) > 1 and p not in rows:
        some = ", ".join(rows[:3]) + (", …" if len(rows) > 3 else "")
        n = "more than 3" if len(rows) > 3 else str(len(rows))
        raise EventIdError(f"event id {p!r} is ambiguous: {n} events have ids starting with it ({some}); "
                           f"give more of the id.")
    return p if p in rows else rows[0]


def judgement_id(event_id: str, kind: str, judged_at: datetime, by: str, fields: str | None) -> str:
    key = f"{event_id}|{kind}|{judged_at.isoformat()}|{by}|{fields or ''}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _check_fields(fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in fields.items():
        if v is None:
            continue
        if k not in CORRECTABLE:
            raise JudgementError(f"{k} cannot be corrected: use {', '.join('--' + c for c in CORRECTABLE)}.")
        if k == "type" and v not in TYPES:
            raise JudgementError(f"--type {v!r}: use partnership or summit.")
        if k == "date" and v != "" and not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", v):
            raise JudgementError(f"--date {v!r}: use YYYY, YYYY-MM or YYYY-MM-DD.")
        if k == "parties":
            names = sorted({p.strip() for p in (v if isinstance(v, list) else str(v).split(",")) if p.strip()})
            if not names:
                raise JudgementError("--parties: give the parties' names separated by commas.")
            v = names
        out[k] = v if v != "" else None
    return out


def record(con: duckdb.DuckDBPyConnection, event: str, kind: str, now: datetime, by: str,
           note: str | None = None, fields: dict[str, Any] | None = None, other: str | None = None) -> Judged:
    """Record one judgement of ``event`` (an id or a unique prefix of one), in one transaction."""
    if kind not in KINDS:
        raise JudgementError(f"unknown judgement {kind!r}: use confirm, reject, correct or merge.")
    if not (by or "").strip():
        raise JudgementError("--by: say who judges (a name).")
    eid = resolve(con, event)
    cur = con.execute("SELECT * FROM events WHERE event_id = ?", [eid])
    cols = [d[0] for d in cur.description]
    ev = dict(zip(cols, cur.fetchone() or ()))
    changed: dict[str, tuple[Any, Any]] = {}
    other_id = None
    if kind == "correct":
        wanted = _check_fields(fields or {})
        if not wanted:
            raise JudgementError("correct needs at least one of --status, --date, --location, --parties, --type.")
        changed = {k: (ev[k] if k != "parties" else list(ev["parties"]), v) for k, v in wanted.items()
                   if (list(ev["parties"]) if k == "parties" else ev[k]) != v}
        if not changed:
            raise JudgementError(f"nothing to correct: event {eid} already has "
                                 + ", ".join(f"{k} {_text(v)}" for k, v in wanted.items()) + ".")
    elif kind == "merge":
        if not other:
            raise JudgementError("merge needs the id of the event this one is the same as: "
                                 "`defwatch judge EVENT_ID merge OTHER_ID`.")
        other_id = resolve(con, other)
        if other_id == eid:
            raise JudgementError(f"an event cannot be merged with itself ({eid}).")
    elif fields and any(v is not None for v in fields.values()):
        raise JudgementError(f"--status, --date, --location, --parties and --type go with correct, not {kind}.")

    fields_json = json.dumps({k: [_plain(a), _plain(b)] for k, (a, b) in changed.items()}) if changed else None
    jid = judgement_id(eid, kind, now, by, fields_json)
    state = STATE[kind]
    if kind == "correct" and ev["judgement"] in ("rejected", "merged"):
        state = ev["judgement"]  # a corrected detail of a rejected event does not bring it back
    new = {c: changed[c][1] if c in changed else ev[c] for c in CORRECTABLE}
    new["parties"] = list(new["parties"])
    rng = date_range(new["date"])
    with transaction(con):
        bulk_insert(con, "judgements", [{
            "judgement_id": jid, "event_id": eid, "kind": kind, "fields": fields_json, "other_event_id": other_id,
            "judged_by": by, "note": note, "judged_at": now}], JUDGEMENT_COLUMNS)
        con.execute(
            "UPDATE events SET judgement = ?, judged_at = ?, merged_into = ?, type = ?, parties = ?, status = ?, "
            "date = ?, date_precision = ?, date_start = ?, date_end = ?, location = ?, "
            "extracted_type = CASE WHEN ? THEN coalesce(extracted_type, type) ELSE extracted_type END, "
            "updated_at = ? WHERE event_id = ?",
            [state, now, other_id if kind == "merge" else (None if kind == "confirm" else ev["merged_into"]),
             new["type"], new["parties"], new["status"], new["date"], precision(new["date"]),
             rng[0] if rng else None, rng[1] if rng else None, new["location"], "type" in changed, now, eid])
        rows = [(k, _text(a), _text(b)) for k, (a, b) in changed.items()] if kind == "correct" else \
            [(state, ev["judgement"], other_id)]
        history = []
        for i, (change, old_value, new_value) in enumerate(rows):
            history.append({
                "event_id": eid, "learned_at": now, "change": change, "old_value": old_value,
                "new_value": new_value, "status": new["status"], "date": new["date"],
                "date_precision": precision(new["date"]), "location": new["location"],
                "retracted": ev["retracted_at"] is not None, "article_id": None, "ruleset_version": None,
                "cause": "judgement", "superseded_at": now if i < len(rows) - 1 else None,
                "date_start": rng[0] if rng else None, "date_end": rng[1] if rng else None, "type": new["type"],
                "parties_key": parties_key(new["parties"]), "judgement": state, "judgement_id": jid,
            })
        _supersede_states(con, [eid], now)
        bulk_insert(con, "event_history", history, HISTORY_COLUMNS, on_conflict=None)
        withdrawn = notices = 0
        if state in ("rejected", "merged"):
            withdrawn = con.execute(
                "UPDATE alert_deliveries SET status = 'withdrawn', last_error = ? WHERE status IN ('pending', 'held') "
                "AND alert_id IN (SELECT alert_id FROM alerts WHERE event_id = ?)",
                [f"event {state} by {by}", eid]).fetchone()[0]
            con.execute("UPDATE alert_holds SET released_at = ?, outcome = 'withdrawn' WHERE released_at IS NULL "
                        "AND alert_id IN (SELECT alert_id FROM alerts WHERE event_id = ?)", [now, eid])
        elif kind == "correct":
            notices = _correction_notice(con, eid, new["type"], changed, jid, now)
    return Judged(jid, eid, kind, new["type"], new["parties"], changed, other_id, by, withdrawn, notices)


def _correction_notice(con, eid: str, type_: str, changed: dict, jid: str, now: datetime) -> int:
    """One correction notice per channel an earlier alert about the event went out on (or waits
    for): what the alert said has changed. None if no alert was ever made for the event."""
    channels = con.execute(
        "SELECT DISTINCT d.channel_key, d.channel_label FROM alert_deliveries d JOIN alerts a USING (alert_id) "
        "WHERE a.event_id = ? AND d.status IN ('sent', 'pending') AND a.kind NOT LIKE '%.correction' "
        "ORDER BY 1", [eid]).fetchall()
    if not channels:
        return 0
    kind = f"{type_}.correction"
    aid = walerts.alert_id(eid, kind, jid)
    value = "; ".join(f"{k}: {_text(a) or '-'} -> {_text(b) or '-'}" for k, (a, b) in changed.items())
    alert = {"alert_id": aid, "event_id": eid, "kind": kind, "value": value, "old_value": None,
             "rules": ["correction"], "created_at": now, "run_id": None}
    deliveries = [{"alert_id": aid, "channel_key": k, "channel_label": label, "status": "pending", "attempts": 0,
                   "last_error": None, "last_attempt_at": None, "next_attempt_at": None, "sent_at": None}
                  for k, label in channels]
    return walerts.insert_alerts(con, [alert], deliveries) and len(deliveries)


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, (list, tuple)) else v


def _text(v: Any) -> str | None:
    if v is None:
        return None
    return ", ".join(v) if isinstance(v, (list, tuple)) else str(v)


def judge(db: Path, event: str, kind: str, now: datetime, by: str, note: str | None = None,
          fields: dict[str, Any] | None = None, other: str | None = None) -> Judged:
    with read_connection(db):
        pass  # a database that is not there is an error, not a new empty file (the DuckLake is always there)
    with write_connection(db) as con:
        return record(con, event, kind, now, by, note, fields, other)


# -- reading -------------------------------------------------------------------------------------

REVIEW_COLUMNS = ("left(e.event_id, 8) AS id", "e.type", "array_to_string(e.parties, ', ') AS parties", "e.status",
                  "e.date", "e.location", "e.mention_count AS reports", "e.evidence",
                  "coalesce(a.final_url, a.original_url) AS source")


def review(db: Path, limit: int | None = 20) -> QueryResult:
    """Events nobody has judged yet, newest first (first learned), with their evidence and its article."""
    sql = (f"SELECT {', '.join(REVIEW_COLUMNS)} FROM events e LEFT JOIN articles a ON a.article_id = e.evidence_article_id "
           f"WHERE e.judgement IS NULL AND e.retracted_at IS NULL AND e.merged_into IS NULL "
           f"ORDER BY e.first_seen DESC, e.event_id" + (f" LIMIT {int(limit)}" if limit else ""))
    return run_query(db, sql)


def unjudged_count(db: Path) -> int:
    with read_connection(db) as con:
        return con.execute("SELECT count(*) FROM events WHERE judgement IS NULL AND retracted_at IS NULL "
                           "AND merged_into IS NULL").fetchone()[0]


def judgements_of(db: Path, event: str | None = None) -> QueryResult:
    """The judgements (of one event), oldest first: who, when, what, why."""
    where, params = "", []
    if event:
        with read_connection(db) as con:
            params = [resolve(con, event)]
        where = "WHERE event_id = ? "
    res = run_query(db, "SELECT judged_at, left(event_id, 8) AS id, kind, fields, left(other_event_id, 8) AS other, "
                        f"judged_by AS by, note FROM judgements {where}ORDER BY judged_at, judgement_id", params)
    # What was judged, said in words: "location Brussels -> Ottawa", "into baca9179".
    rows = []
    for judged_at, id_, kind, fields, other, by, note in res.rows:
        what = "; ".join(f"{k} {_text(a) or '(none)'} -> {_text(b) or '(none)'}"
                         for k, (a, b) in json.loads(fields).items()) if fields else (f"into {other}" if other else "")
        rows.append((judged_at, id_, kind, what, by, note))
    return QueryResult(["judged_at", "id", "kind", "what", "by", "note"], rows)


# -- judgements as evaluation data ----------------------------------------------------------------

def gold_documents(db: Path) -> list[dict[str, Any]]:
    """The judged articles as gold documents (docs/EVENTS.md's format, ``defwatch eval`` reads it):
    each article whose every event found by the extractor has been judged. Its events are those
    events the analyst did not reject, as the article states them (status, date, place), except
    where the analyst corrected the event: then the correction; an event merged into another is
    that other event. An event the extractor missed is unknown here, so recall on these documents
    counts only what the extractor found (precision is the figure they measure)."""
    with read_connection(db) as con:
        cur = con.execute("""
            WITH judged_articles AS (
                SELECT m.article_id FROM event_mentions m JOIN events e USING (event_id)
                 WHERE m.retracted_at IS NULL GROUP BY 1 HAVING bool_and(e.judgement IS NOT NULL))
            SELECT a.article_id, a.published, a.text, m.status, m.date, m.location, m.evidence,
                   e.judgement, coalesce(t.type, e.type) AS type, coalesce(t.parties, e.parties) AS parties,
                   coalesce(t.event_id, e.event_id) AS target,
                   coalesce(t.status, e.status) AS event_status, coalesce(t.date, e.date) AS event_date,
                   coalesce(t.location, e.location) AS event_location
              FROM judged_articles j JOIN articles a USING (article_id)
              JOIN event_mentions m ON m.article_id = a.article_id AND m.retracted_at IS NULL
              JOIN events e ON e.event_id = m.event_id
              LEFT JOIN events t ON t.event_id = e.merged_into
             WHERE a.text IS NOT NULL
             ORDER BY a.article_id, m.event_id""")
        cols = [d[0] for d in cur.description]
        rows = [dict(zip(cols, r)) for r in cur.fetchall()]
        corrected: dict[str, set[str]] = {}
        for eid, fields in con.execute("SELECT event_id, fields FROM judgements WHERE kind = 'correct'").fetchall():
            corrected.setdefault(eid, set()).update(json.loads(fields))
    docs: dict[str, dict[str, Any]] = {}
    for r in rows:
        doc = docs.setdefault(r["article_id"], {
            "id": r["article_id"], "published": r["published"].date().isoformat() if r["published"] else None,
            "text": r["text"], "events": [], "source": "defwatch judgements"})
        if r["judgement"] == "rejected":
            continue
        fixed = corrected.get(r["target"], set())
        ev = {"type": r["type"], "parties": sorted(r["parties"]),
              "status": r["event_status"] if "status" in fixed else r["status"],
              "date": r["event_date"] if "date" in fixed else r["date"],
              "location": r["event_location"] if "location" in fixed else r["location"],
              "evidence": r["evidence"]}
        if all((e["type"], e["parties"]) != (ev["type"], ev["parties"]) for e in doc["events"]):
            doc["events"].append(ev)
    return list(docs.values())


def write_gold(db: Path, out: Path) -> int:
    docs = gold_documents(db)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps(d, ensure_ascii=False) + "\n")
    return len(docs)

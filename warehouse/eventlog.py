"""Writing the event log: mentions in, deduplicated events, history and (later) alerts out.

``apply_extractions`` is the one write path, for ingest and re-extraction alike: for each article
it makes the article's active mentions equal to what the extractor found now, then re-folds every
event it touched (``warehouse.identity``) and records each change in ``event_history``. It runs
inside the caller's transaction, so articles, mentions, events and history commit together.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from warehouse.identity import (
    EventState,
    StoredMention,
    choose_event,
    date_range,
    fold,
    make_event_id,
    parties_key,
    precision,
)
from warehouse.store import bulk_insert, schema_of

MENTION_COLUMNS = (
    "event_id", "article_id", "evidence", "evidence_start", "evidence_end", "status", "date", "date_text",
    "location", "confidence", "rule", "ruleset_version", "published", "extracted_at", "retracted_at",
)
EVENT_COLUMNS = (
    "event_id", "type", "parties", "parties_key", "status", "date", "date_precision", "date_start", "date_end",
    "location", "evidence", "evidence_article_id", "confidence", "mention_count", "first_reported",
    "first_seen", "last_seen", "retracted_at", "updated_at",
)
HISTORY_COLUMNS = (
    "event_id", "learned_at", "change", "old_value", "new_value", "status", "date", "date_precision",
    "location", "retracted", "article_id", "ruleset_version", "cause",
    # Migration 005: how long the state held, and what `--as-of` filters on (see the migration).
    "superseded_at", "date_start", "date_end", "type", "parties_key",
    # Migration 007: the judged state then, and the judgement that made a row (warehouse/judgements.py).
    "judgement", "judgement_id",
)


@dataclass
class ArticleExtraction:
    """What the extractor found in one article (``events`` as dicts with the Event fields)."""

    article_id: str
    published: datetime | None
    events: list[dict[str, Any]]


@dataclass
class Change:
    event_id: str
    type: str
    parties: list[str]
    change: str              # created | status | date | location | retracted | restored
    old_value: str | None
    new_value: str | None
    state: EventState
    article_id: str | None
    judgement: str | None = None  # the analyst's: confirmed | rejected | corrected | merged


@dataclass
class ApplyResult:
    changes: list[Change] = field(default_factory=list)
    mentions_added: int = 0
    mentions_retracted: int = 0
    events_created: int = 0


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _with_table(con, name: str, columns: dict[str, list], sql: str) -> list[dict]:
    con.register(name, pa.table(columns))
    try:
        return _rows(con, sql)
    finally:
        con.unregister(name)


def _mention_from_row(r: dict, event_type: str, parties: list[str]) -> StoredMention:
    return StoredMention(
        event_id=r["event_id"], article_id=r["article_id"], type=event_type, parties=parties,
        status=r["status"], date=r["date"], date_text=r["date_text"], location=r["location"],
        evidence=r["evidence"], evidence_start=r["evidence_start"], evidence_end=r["evidence_end"],
        confidence=r["confidence"], rule=r["rule"], ruleset_version=r["ruleset_version"],
        published=r["published"], extracted_at=r["extracted_at"],
    )


def apply_extractions(
    con: duckdb.DuckDBPyConnection,
    extractions: Sequence[ArticleExtraction],
    ruleset_version: str,
    now: datetime,
    cause: str = "ingest",
) -> ApplyResult:
    result = ApplyResult()
    if not extractions:
        return result
    article_ids = [x.article_id for x in extractions]

    # 1. What these articles reported before (re-extraction), to retract what is no longer found.
    # (Keyed on the identity the extractor gave the event: an analyst's correction of its type or
    # parties changes what it shows, not which mentions are its.)
    old = _with_table(con, "_arts", {"article_id": article_ids},
                      "SELECT m.*, coalesce(e.extracted_type, e.type) AS type, e.parties_key AS _key "
                      "FROM event_mentions m JOIN _arts USING (article_id) "
                      "JOIN events e USING (event_id) WHERE m.retracted_at IS NULL")
    old_by_article: dict[str, dict[tuple[str, str], str]] = defaultdict(dict)
    for r in old:
        old_by_article[r["article_id"]][(r["type"], r["_key"])] = r["event_id"]

    # 2. New mentions, deduplicated per (article, type, parties, date).
    fresh: list[StoredMention] = []
    for x in sorted(extractions, key=lambda x: (x.published is None, x.published or now, x.article_id)):
        seen = set()
        for ev in x.events:
            m = StoredMention(
                event_id=None, article_id=x.article_id, type=ev["type"], parties=sorted(set(ev["parties"])),
                status=ev.get("status"), date=ev.get("date"), date_text=ev.get("date_text"),
                location=ev.get("location"), evidence=ev["evidence"], evidence_start=ev.get("evidence_start"),
                evidence_end=ev.get("evidence_end"), confidence=float(ev.get("confidence") or 0.0),
                rule=ev.get("rule"), ruleset_version=ruleset_version, published=x.published, extracted_at=now,
            )
            sig = (m.key, m.date)
            if len(m.parties) < 1 or sig in seen:
                continue
            seen.add(sig)
            fresh.append(m)

    # 3. Candidate events for every identity key involved.
    keys = {m.key for m in fresh}
    candidates: dict[tuple[str, str], list[dict]] = defaultdict(list)
    existing: dict[str, dict] = {}
    if keys:
        types, pkeys = zip(*sorted(keys))
        for r in _with_table(con, "_keys", {"type": list(types), "parties_key": list(pkeys)},
                             "SELECT e.* FROM events e JOIN _keys USING (type, parties_key) "
                             "WHERE e.extracted_type IS NULL UNION ALL "
                             "SELECT e.* FROM events e JOIN _keys k ON e.extracted_type = k.type "
                             "AND e.parties_key = k.parties_key WHERE e.extracted_type IS NOT NULL"):
            # a working copy: see step 4
            candidates[(r["extracted_type"] or r["type"], r["parties_key"])].append(dict(r))
            existing[r["event_id"]] = r
    taken = set(existing)
    if fresh:
        ids_like = _rows(con, "SELECT event_id FROM events WHERE event_id LIKE '%~%'")
        taken.update(r["event_id"] for r in ids_like)

    # 4. Assign each new mention to an event (or a new one), in publication order.
    new_events: dict[str, dict] = {}
    for m in fresh:
        prefer = old_by_article[m.article_id].get(m.key)
        pool = [c for c in candidates[m.key]]
        chosen = choose_event(m, pool, prefer)
        if chosen is None:
            eid = make_event_id(m.type, parties_key(m.parties), m.date, taken)
            taken.add(eid)
            ev = {"event_id": eid, "type": m.type, "parties": m.parties, "parties_key": parties_key(m.parties),
                  "date": m.date, "first_seen": now, "retracted_at": None}
            candidates[m.key].append(ev)
            new_events[eid] = ev
            chosen = eid
        else:
            # Later mentions in this batch see the date this one brings to the event.
            ev = next(c for c in candidates[m.key] if c["event_id"] == chosen)
            if m.date and (not ev.get("date") or len(m.date) > len(ev["date"])):
                ev["date"] = m.date
        m.event_id = chosen

    # 5. Reconcile mentions: keep, add, retract, per (event, article).
    new_pairs: dict[tuple[Any, str], Any] = {}
    for m in fresh:
        pair = (m.event_id, m.article_id)
        prev = new_pairs.get(pair)
        if prev is None or (len(m.date or ""), m.confidence) > (len(prev.date or ""), prev.confidence):
            new_pairs[pair] = m
    old_pairs = {(r["event_id"], r["article_id"]): r for r in old}
    retract = [p for p in old_pairs if p not in new_pairs]
    touched: set[str] = {p[0] for p in new_pairs} | {p[0] for p in retract}

    all_pairs_rows = _with_table(
        con, "_pairs", {"event_id": [p[0] for p in new_pairs], "article_id": [p[1] for p in new_pairs]},
        "SELECT m.event_id, m.article_id, m.retracted_at FROM event_mentions m JOIN _pairs USING (event_id, article_id)",
    ) if new_pairs else []
    stored_pairs = {(r["event_id"], r["article_id"]): r for r in all_pairs_rows}
    inserts = [m for p, m in new_pairs.items() if p not in stored_pairs]
    updates = [m for p, m in new_pairs.items() if p in stored_pairs]

    if retract:
        con.register("_retract", pa.table({"event_id": [p[0] for p in retract], "article_id": [p[1] for p in retract]}))
        con.execute("UPDATE event_mentions SET retracted_at = ? FROM _retract r "
                    "WHERE event_mentions.event_id = r.event_id AND event_mentions.article_id = r.article_id", [now])
        con.unregister("_retract")
    if updates:
        _update_mentions(con, updates)
    bulk_insert(con, "event_mentions", [_mention_row(m) for m in inserts], MENTION_COLUMNS)
    result.mentions_added = len(inserts) + sum(1 for p in updates if stored_pairs[(p.event_id, p.article_id)]["retracted_at"] is not None)
    result.mentions_retracted = len(retract)

    # 6. Re-fold every touched event from its active mentions; record what changed.
    active = _with_table(con, "_touched", {"event_id": sorted(touched)},
                         "SELECT m.* FROM event_mentions m JOIN _touched USING (event_id) "
                         "WHERE m.retracted_at IS NULL") if touched else []
    by_event: dict[str, list[dict]] = defaultdict(list)
    for r in active:
        by_event[r["event_id"]].append(r)
    cause_article = {m.event_id: m.article_id for m in fresh}
    for p in retract:
        cause_article.setdefault(p[0], p[1])

    missing = sorted(e for e in touched if e not in existing and e not in new_events)
    if missing:  # events only losing mentions (their key is not among the new mentions)
        for r in _with_table(con, "_missing", {"event_id": missing},
                             "SELECT e.* FROM events e JOIN _missing USING (event_id)"):
            existing[r["event_id"]] = r

    corrected = _corrections(con, sorted(e for e in touched if existing.get(e, {}).get("judgement")))
    event_rows_new, event_rows_upd, history = [], [], []
    for eid in sorted(touched):
        base = new_events.get(eid) or existing[eid]
        mentions = [_mention_from_row(r, base["type"], list(base["parties"])) for r in by_event.get(eid, [])]
        state = fold(base["type"], mentions)
        for field_, value in corrected.get(eid, {}).items():  # the analyst's word over the extractor's
            setattr(state, field_, value)
            if field_ == "date":
                state.date_precision = precision(value)
        row = _event_row(base, state, now, eid in new_events)
        changes = _diff(existing.get(eid), row, eid in new_events)
        for i, (change, old_value, new_value) in enumerate(changes):
            result.changes.append(Change(eid, base["type"], list(base["parties"]), change, old_value, new_value,
                                         state, cause_article.get(eid), base.get("judgement")))
            history.append({
                "event_id": eid, "learned_at": now, "change": change, "old_value": old_value,
                "new_value": new_value, "status": row["status"], "date": row["date"],
                "date_precision": row["date_precision"], "location": row["location"],
                "retracted": row["retracted_at"] is not None, "article_id": cause_article.get(eid),
                "ruleset_version": ruleset_version, "cause": cause,
                # One write's rows carry the same state: the last one holds it, the others never do.
                "superseded_at": now if i < len(changes) - 1 else None,
                "date_start": row["date_start"], "date_end": row["date_end"], "type": row["type"],
                "parties_key": row["parties_key"], "judgement": base.get("judgement"), "judgement_id": None,
            })
        if eid in new_events:
            event_rows_new.append(row)
            result.events_created += 1
        else:
            event_rows_upd.append(row)

    bulk_insert(con, "events", event_rows_new, EVENT_COLUMNS)
    _update_events(con, event_rows_upd)
    _supersede_states(con, sorted({h["event_id"] for h in history}), now)
    bulk_insert(con, "event_history", history, HISTORY_COLUMNS, on_conflict=None)
    bulk_insert(con, "article_extractions", [
        {"article_id": x.article_id, "ruleset_version": ruleset_version,
         "events": sum(1 for m in new_pairs.values() if m.article_id == x.article_id), "extracted_at": now}
        for x in extractions
    ], ("article_id", "ruleset_version", "events", "extracted_at"),
        on_conflict="DO UPDATE SET ruleset_version = excluded.ruleset_version, events = excluded.events, "
                    "extracted_at = excluded.extracted_at", conflict_target="(article_id)")
    return result


def _corrections(con, event_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The status, date and location the analyst gave each event (``correct`` judgements in the
    order made: the latest word on a field holds). Type and parties are kept on events itself."""
    if not event_ids:
        return {}
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    for r in _with_table(con, "_judged", {"event_id": list(event_ids)},
                         "SELECT j.event_id, j.fields FROM judgements j JOIN _judged USING (event_id) "
                         "WHERE j.kind = 'correct' ORDER BY j.judged_at, j.judgement_id"):
        for field_, (_old, new) in json.loads(r["fields"]).items():
            if field_ in ("status", "date", "location"):
                out[r["event_id"]][field_] = new
    return out


def _mention_row(m: StoredMention) -> dict:
    return {
        "event_id": m.event_id, "article_id": m.article_id, "evidence": m.evidence,
        "evidence_start": m.evidence_start, "evidence_end": m.evidence_end, "status": m.status, "date": m.date,
        "date_text": m.date_text, "location": m.location, "confidence": m.confidence, "rule": m.rule,
        "ruleset_version": m.ruleset_version, "published": m.published, "extracted_at": m.extracted_at,
        "retracted_at": None,
    }


def _update_mentions(con, mentions: Sequence[StoredMention]) -> None:
    """A mention found again (by new rules): refresh what the article says, un-retract it."""
    rows = [_mention_row(m) for m in mentions]
    cols = [c for c in MENTION_COLUMNS if c not in ("extracted_at",)]
    con.register("_mu", pa.table({c: [r[c] for r in rows] for c in cols}))
    try:
        sets = ", ".join(f"{c} = u.{c}" for c in cols if c not in ("event_id", "article_id"))
        con.execute(f"UPDATE event_mentions SET {sets} FROM _mu u "
                    "WHERE event_mentions.event_id = u.event_id AND event_mentions.article_id = u.article_id")
    finally:
        con.unregister("_mu")


def _event_row(base: dict, state: EventState, now: datetime, is_new: bool) -> dict:
    rng = date_range(state.date)
    retracted = state.mention_count == 0
    return {
        "event_id": base["event_id"], "type": base["type"], "parties": list(base["parties"]),
        "parties_key": parties_key(base["parties"]), "status": state.status, "date": state.date,
        "date_precision": state.date_precision, "date_start": rng[0] if rng else None,
        "date_end": rng[1] if rng else None, "location": state.location, "evidence": state.evidence,
        "evidence_article_id": state.evidence_article_id, "confidence": state.confidence,
        "mention_count": state.mention_count, "first_reported": state.first_reported,
        "first_seen": base.get("first_seen") or now,
        "last_seen": now if (is_new or state.mention_count > (base.get("mention_count") or 0)) else base.get("last_seen", now),
        "retracted_at": (base.get("retracted_at") or now) if retracted else None,
        "updated_at": now,
    }


def _diff(old: dict | None, new: dict, is_new: bool) -> list[tuple[str, str | None, str | None]]:
    if is_new or old is None:
        return [("created", None, new["status"])]
    out: list[tuple[str, str | None, str | None]] = []
    if (old["retracted_at"] is None) != (new["retracted_at"] is None):
        out.append(("retracted", None, None) if new["retracted_at"] else ("restored", None, None))
    for field_ in ("status", "date", "location"):
        if old[field_] != new[field_]:
            out.append((field_, old[field_], new[field_]))
    return out


def _supersede_states(con, event_ids: Sequence[str], now: datetime) -> None:
    """The current history row of each event that gets a new one stops holding at ``now``."""
    if not event_ids:
        return
    con.register("_superseded", pa.table({"event_id": list(event_ids)}))
    try:
        con.execute("UPDATE event_history SET superseded_at = ? FROM _superseded s "
                    "WHERE event_history.event_id = s.event_id AND event_history.superseded_at IS NULL", [now])
    finally:
        con.unregister("_superseded")


def _update_events(con, rows: Sequence[dict]) -> None:
    if not rows:
        return
    cols = [c for c in EVENT_COLUMNS if c not in ("type", "parties", "parties_key", "first_seen")]
    types = schema_of(con, "events")
    con.register("_eu", pa.table({c: [r[c] for r in rows] for c in cols}))
    try:
        sets = ", ".join(f"{c} = CAST(u.{c} AS {types[c]})" for c in cols if c != "event_id")
        con.execute(f"UPDATE events SET {sets} FROM _eu u WHERE events.event_id = u.event_id")
    finally:
        con.unregister("_eu")

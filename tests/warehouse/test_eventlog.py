"""The event log on a real DuckDB file: dedup across articles, history, re-extraction."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from warehouse.db import transaction, write_connection
from warehouse.eventlog import ArticleExtraction, apply_extractions

T0 = datetime(2025, 6, 10, 12, tzinfo=timezone.utc)


def ev(status, date, parties=("Canada", "European Union"), type_="partnership", location=None, text="x"):
    return {"type": type_, "parties": list(parties), "status": status, "date": date, "date_text": None,
            "location": location, "evidence": text, "evidence_start": 0, "evidence_end": len(text),
            "confidence": 0.8, "rule": "test.rule"}


def apply(con, extractions, version="v1", now=T0, cause="ingest"):
    with transaction(con):
        return apply_extractions(con, extractions, version, now, cause)


def q(con, sql):
    return con.execute(sql).fetchall()


def test_twenty_reports_make_one_event_with_twenty_mentions(db_path):
    dates = ["2025-06", "2025-06-23", None, "2025", "2025-06-23"]
    statuses = ["planned", "negotiating", "planned", None, "planned"]
    with write_connection(db_path) as con:
        for i in range(20):
            x = ArticleExtraction(f"art{i:02d}", T0 + timedelta(hours=i), [ev(statuses[i % 5], dates[i % 5], text=f"s{i}")])
            apply(con, [x], now=T0 + timedelta(hours=i))
        assert q(con, "SELECT count(*), max(mention_count), any_value(status), any_value(date) FROM events") == \
            [(1, 20, "negotiating", "2025-06-23")]
        assert q(con, "SELECT count(*) FROM event_mentions") == [(20,)]
        changes = q(con, "SELECT change, old_value, new_value FROM event_history ORDER BY learned_at, change")
        assert changes[0] == ("created", None, "planned")
        assert ("status", "planned", "negotiating") in changes
        assert ("date", "2025-06", "2025-06-23") in changes


def test_status_advance_is_recorded_and_reapplying_changes_nothing(db_path):
    with write_connection(db_path) as con:
        apply(con, [ArticleExtraction("a", T0, [ev("negotiating", "2025-06")])])
        r = apply(con, [ArticleExtraction("b", T0 + timedelta(days=20), [ev("signed", "2025-06-30", location="Brussels")])],
                  now=T0 + timedelta(days=20))
        assert [(c.change, c.old_value, c.new_value) for c in r.changes] == [
            ("status", "negotiating", "signed"), ("date", "2025-06", "2025-06-30"), ("location", None, "Brussels")]
        before = q(con, "SELECT * EXCLUDE (updated_at) FROM events")
        history = q(con, "SELECT count(*) FROM event_history")
        again = apply(con, [ArticleExtraction("b", T0 + timedelta(days=20), [ev("signed", "2025-06-30", location="Brussels")])],
                      now=T0 + timedelta(days=21))
        assert again.changes == [] and again.mentions_added == 0
        assert q(con, "SELECT * EXCLUDE (updated_at) FROM events") == before
        assert q(con, "SELECT count(*) FROM event_history") == history


def test_summits_months_apart_stay_two_events(db_path):
    with write_connection(db_path) as con:
        apply(con, [ArticleExtraction("a", T0, [ev("planned", "2025-07", type_="summit")])])
        apply(con, [ArticleExtraction("b", T0, [ev("held", "2025-12-15", type_="summit", location="Ottawa")])])
        apply(con, [ArticleExtraction("c", T0, [ev("held", "2025-07-23", type_="summit", location="Tokyo")])])
        rows = q(con, "SELECT date, status, mention_count FROM events ORDER BY date")
    assert rows == [("2025-07-23", "held", 2), ("2025-12-15", "held", 1)]


def test_one_article_several_events(db_path):
    with write_connection(db_path) as con:
        apply(con, [ArticleExtraction("a", T0, [
            ev("planned", "2025-06"), ev("signed", "2025-05", parties=("European Union", "United Kingdom")),
            ev("planned", "2025-07", parties=("European Union", "Japan"), type_="summit"),
            ev("planned", "2025-06", parties=("Canada", "European Union"))])])  # the same pact twice: once
        assert q(con, "SELECT count(*) FROM events") == [(3,)]
        assert q(con, "SELECT count(*) FROM event_mentions") == [(3,)]


def test_reextraction_retracts_what_new_rules_no_longer_find(db_path):
    with write_connection(db_path) as con:
        apply(con, [ArticleExtraction("a", T0, [ev("signed", "2025-05"), ev(None, None, parties=("Japan", "Moldova"))])])
        later = T0 + timedelta(days=1)
        r = apply(con, [ArticleExtraction("a", T0, [ev("signed", "2025-05")])], version="v2", now=later, cause="reextract")
        assert r.mentions_retracted == 1 and r.mentions_added == 0
        assert [(c.change, c.parties) for c in r.changes] == [("retracted", ["Japan", "Moldova"])]
        assert q(con, "SELECT parties FROM events WHERE retracted_at IS NULL") == [(["Canada", "European Union"],)]
        assert q(con, "SELECT DISTINCT ruleset_version FROM event_mentions WHERE retracted_at IS NULL") == [("v2",)]
        assert q(con, "SELECT ruleset_version FROM article_extractions") == [("v2",)]
        # The log as known before the rule change still shows the retracted event.
        assert q(con, f"SELECT count(*) FROM events_as_of(TIMESTAMPTZ '{T0.isoformat()}')") == [(2,)]
        assert q(con, f"SELECT count(*) FROM events_as_of(TIMESTAMPTZ '{later.isoformat()}')") == [(1,)]
        # What did the rule change alter?
        assert q(con, "SELECT change, cause, ruleset_version FROM event_history WHERE cause = 'reextract'") == \
            [("retracted", "reextract", "v2")]


def test_views(db_path):
    with write_connection(db_path) as con:
        apply(con, [ArticleExtraction("a", T0, [ev("signed", "2025-05"), ev("held", "2025-06-23", type_="summit")])])
        assert q(con, "SELECT count(*) FROM partnerships") == [(1,)]
        assert q(con, "SELECT count(*) FROM summits") == [(1,)]
        assert q(con, f"SELECT count(*) FROM events_new_since(TIMESTAMPTZ '{(T0 + timedelta(seconds=1)).isoformat()}')") == [(0,)]
        assert q(con, f"SELECT count(*) FROM events_new_since(TIMESTAMPTZ '{T0.isoformat()}')") == [(2,)]


def test_history_rows_written_by_the_log_say_how_long_their_state_held(db_path):
    """The write path keeps what migration 005 derives: one row per event holds at any time, the
    current one has no superseded_at, and `defwatch events --as-of` reads the state of the time."""
    from warehouse import query as wq

    t1, t2, t3 = T0 + timedelta(days=1), T0 + timedelta(days=2), T0 + timedelta(days=3)
    with write_connection(db_path) as con:
        apply(con, [ArticleExtraction("a", T0, [ev("negotiating", "2025-06")])])
        # Two changes in one write (status and date): one row of the two holds the state.
        apply(con, [ArticleExtraction("b", t1, [ev("signed", "2025-06-30")])], now=t1)
        apply(con, [ArticleExtraction("c", t2, [ev("signed", "2025-06-30", location="Brussels")])], now=t2)
        apply(con, [ArticleExtraction("c", t2, [])], version="v2", now=t3, cause="reextract")  # c retracted
        rows = q(con, "SELECT change, learned_at, superseded_at, date_end, type, parties_key FROM event_history "
                      "ORDER BY learned_at, change")
        as_of = {t: con.execute(*wq.events_sql(as_of=t.isoformat(), columns=("status", "date", "location",
                                                                               "mention_count"))).fetchall()
                 for t in (T0, t1, t2, t3)}
    june30 = datetime(2025, 6, 30).date()
    assert rows == [
        ("created", T0, t1, june30, "partnership", "Canada|European Union"),
        ("date", t1, t2, june30, "partnership", "Canada|European Union"),     # written last: holds
        ("status", t1, t1, june30, "partnership", "Canada|European Union"),   # never holds
        ("location", t2, t3, june30, "partnership", "Canada|European Union"),
        ("location", t3, None, june30, "partnership", "Canada|European Union"),
    ]
    assert as_of == {T0: [("negotiating", "2025-06", None, 1)], t1: [("signed", "2025-06-30", None, 2)],
                     t2: [("signed", "2025-06-30", "Brussels", 3)], t3: [("signed", "2025-06-30", None, 2)]}

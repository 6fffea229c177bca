"""What determines an event id, that it never changes once issued, and when arrival order can
change it: the statements of docs/SCALING.md ("Event identity across runs") and README rule 5,
tested on real DuckDB files through the one write path (``eventlog.apply_extractions``)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from warehouse.db import transaction, write_connection
from warehouse.eventlog import ArticleExtraction, apply_extractions
from warehouse.identity import make_event_id

T0 = datetime(2025, 6, 10, 12, tzinfo=timezone.utc)
PARTIES = ["Canada", "European Union"]


def ev(date, status="signed", type_="partnership"):
    return {"type": type_, "parties": PARTIES, "status": status, "date": date, "date_text": None,
            "location": None, "evidence": f"report dated {date}", "evidence_start": 0, "evidence_end": 10,
            "confidence": 0.8, "rule": "test.rule"}


def report(article_id, date, hours=0, **kw):
    return ArticleExtraction(article_id, T0 + timedelta(hours=hours), [ev(date, **kw)] if date != "none" else [])


def commit(con, extractions, version="v1", hours=0):
    with transaction(con):
        apply_extractions(con, extractions, version, T0 + timedelta(hours=hours))


def ids_and_groups(con) -> set[tuple[str, frozenset]]:
    rows = con.execute("SELECT event_id, list(article_id ORDER BY article_id) FROM event_mentions "
                       "WHERE retracted_at IS NULL GROUP BY event_id").fetchall()
    return {(e, frozenset(a)) for e, a in rows}


def test_the_id_is_the_hash_of_type_parties_and_the_month_of_the_report_that_created_it(tmp_path):
    with write_connection(tmp_path / "a.duckdb") as con:
        commit(con, [report("a1", "2025-06-23")])
        (event_id,) = con.execute("SELECT event_id FROM events").fetchone()
    assert event_id == make_event_id("partnership", "Canada|European Union", "2025-06", set())


def test_ids_never_change_once_issued(tmp_path):
    """Later, more precise reports, reports that move the date to another month, re-extraction
    that retracts every report, and the event's return: one id throughout."""
    with write_connection(tmp_path / "a.duckdb") as con:
        commit(con, [report("a1", "2025-06", status="planned")])
        (issued,) = con.execute("SELECT event_id FROM events").fetchone()
        steps = [
            ([report("a2", "2025-06-23", hours=1)], "v1"),          # more precise, later status
            ([report("a3", "2025-08-10", hours=2)], "v1"),          # another month, inside the window
            ([report("a4", None, hours=3)], "v1"),                  # undated
            ([report(a, "none", hours=4) for a in ("a1", "a2", "a3", "a4")], "v2"),  # rules find nothing
            ([report("a2", "2025-06-23", hours=5)], "v3"),          # found again
        ]
        seen = []
        for i, (xs, version) in enumerate(steps, start=1):
            commit(con, xs, version=version, hours=i)
            seen.append(con.execute("SELECT list(event_id ORDER BY event_id), "
                                    "list(retracted_at IS NULL ORDER BY event_id) FROM events").fetchone())
        history_ids = {r[0] for r in con.execute("SELECT DISTINCT event_id FROM event_history").fetchall()}
    assert [ids for ids, _ in seen] == [[issued]] * len(steps)
    assert [alive for _, alive in seen][3:] == [[False], [True]]  # retracted, never deleted, restored
    assert history_ids == {issued}


def test_reports_of_one_calendar_month_give_the_same_event_in_any_order(tmp_path):
    """Where docs/SCALING.md says one process and any fan-out agree: every report of a (type,
    parties) dated within one calendar month. Every commit order gives one event, one id."""
    reports = [("a1", "2025-06"), ("a2", "2025-06-23"), ("a3", "2025-06-02"), ("a4", "2025-06-30")]
    outcomes = set()
    for k, order in enumerate(itertools.permutations(reports)):
        with write_connection(tmp_path / f"p{k}.duckdb") as con:
            for hours, (article, date) in enumerate(order):
                commit(con, [report(article, date, hours=hours)], hours=hours)
            outcomes.add(frozenset(ids_and_groups(con)))
    assert len(outcomes) == 1
    (only,) = outcomes
    assert len(only) == 1 and next(iter(only))[1] == {"a1", "a2", "a3", "a4"}


def test_what_the_docs_say_can_differ_does_differ_with_the_order(tmp_path):
    """The documented limit, kept true: a year-only report and a dated one make one event
    whichever comes first, but the id is anchored on whichever committed first."""
    results = []
    for k, order in enumerate([[("y", "2025"), ("m", "2025-06")], [("m", "2025-06"), ("y", "2025")]]):
        with write_connection(tmp_path / f"o{k}.duckdb") as con:
            for hours, (article, date) in enumerate(order):
                commit(con, [report(article, date, hours=hours)], hours=hours)
            results.append(ids_and_groups(con))
    groups = [{g for _, g in r} for r in results]
    assert groups[0] == groups[1] == {frozenset({"m", "y"})}
    assert results[0] != results[1]

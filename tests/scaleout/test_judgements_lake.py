"""Judgements on the shared DuckLake backend: the same write path as on the DuckDB file."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.support.eventlog import ArticleExtraction, demo_log, ev, write_log
from warehouse import judgements as wj
from warehouse import query as wq
from warehouse.db import read_connection


def test_judgements_on_ducklake(lake, tmp_path):
    db = tmp_path / "unused.duckdb"  # DEFWATCH_WAREHOUSE=ducklake: the lake is the database
    demo_log(db)
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    wj.judge(db, "3f75", "reject", now, "alice", "old news")
    c = wj.judge(db, "f8c1", "correct", now + timedelta(minutes=1), "bob", None, {"location": "Ottawa"})
    assert c.changed == {"location": ("Brussels", "Ottawa")}
    # A new report of the rejected event, and of the corrected one.
    write_log(db, [(now + timedelta(hours=1), [], [
        ArticleExtraction("a05", now, [ev("partnership", ["Chad", "France"], "cancelled", "2024-11-28",
                                          "Chad ended its defence cooperation agreement with France.")]),
        ArticleExtraction("a01", now, [ev("partnership", ["Canada", "European Union"], "signed", "2025-06-23",
                                          "Canada and the EU signed in Brussels.", "Brussels")])])])
    with read_connection(db) as con:
        rows = con.execute("SELECT event_id, judgement, location FROM events WHERE judgement IS NOT NULL "
                           "ORDER BY event_id").fetchall()
        assert rows == [("3f75003c382c5e4b", "rejected", None), ("f8c1434e54df2bc2", "corrected", "Ottawa")]
        shown = con.execute(*wq.events_sql(limit=None)).fetchall()
        assert "3f75003c382c5e4b" not in [r[0] for r in shown] and len(shown) == 6
        assert con.execute("SELECT count(*) FROM judgements").fetchone()[0] == 2
        assert con.execute("SELECT count(*) FROM event_history WHERE cause = 'judgement'").fetchone()[0] == 2
    assert not db.exists(), "everything went to the lake"

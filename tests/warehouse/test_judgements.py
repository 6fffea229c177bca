"""Judgements on a real DuckDB file through the one write path: a correction of type, parties,
status or place survives new reports and re-extraction, and the event keeps its new reports."""

from __future__ import annotations

from datetime import timedelta

from tests.warehouse.test_eventlog import T0, apply, ev, q
from warehouse.db import write_connection
from warehouse.eventlog import ArticleExtraction
from warehouse.judgements import record


def test_corrections_hold_and_the_corrected_event_keeps_its_new_reports(db_path):
    with write_connection(db_path) as con:
        apply(con, [ArticleExtraction("a", T0, [ev("planned", "2025-06-23", location="Brussels")])])
        (eid,) = q(con, "SELECT event_id FROM events")[0]
        j = record(con, eid[:4], "correct", T0 + timedelta(hours=1), "bob", "a summit, with Norway, held in Oslo",
                   {"type": "summit", "parties": "Canada, European Union, Norway", "status": "held",
                    "location": "Oslo"})
        assert j.changed == {"type": ("partnership", "summit"),
                             "parties": (["Canada", "European Union"], ["Canada", "European Union", "Norway"]),
                             "status": ("planned", "held"), "location": ("Brussels", "Oslo")}
        # A new report of what the extractor calls the same partnership, and a re-extraction of both.
        apply(con, [ArticleExtraction("b", T0, [ev("signed", "2025-06-23", location="Brussels")])],
              now=T0 + timedelta(hours=2))
        apply(con, [ArticleExtraction("a", T0, [ev("signed", "2025-06-23", location="Ghent")]),
                    ArticleExtraction("b", T0, [ev("signed", "2025-06-23", location="Brussels")])],
              version="v2", now=T0 + timedelta(hours=3), cause="reextract")
        assert q(con, "SELECT event_id, type, parties, status, location, mention_count, judgement, extracted_type "
                      "FROM events") == [(eid, "summit", ["Canada", "European Union", "Norway"], "held", "Oslo", 2,
                                          "corrected", "partnership")]
        # The re-folds changed nothing the analyst said, so they left no history row of their own.
        assert q(con, "SELECT change, cause FROM event_history ORDER BY learned_at, change") == [
            ("created", "ingest"), ("location", "judgement"), ("parties", "judgement"), ("status", "judgement"),
            ("type", "judgement")]
        # Rejecting it withdraws nothing (no alert was made) and the next report leaves it rejected.
        record(con, eid, "reject", T0 + timedelta(hours=4), "alice")
        apply(con, [ArticleExtraction("c", T0, [ev("signed", "2025-06-23")])], now=T0 + timedelta(hours=5))
        assert q(con, "SELECT judgement, mention_count FROM events") == [("rejected", 3)]
        assert q(con, "SELECT count(*) FROM partnerships") == [(0,)] and q(con, "SELECT count(*) FROM summits") == [(0,)]
        assert q(con, "SELECT kind, judged_by FROM judgements ORDER BY judged_at") == [("correct", "bob"), ("reject", "alice")]

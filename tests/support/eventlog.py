"""An event log written through the project's own write path (``bulk_insert``, ``apply_extractions``):
demo-like events learned at fixed times, for the report, digest, export and alert-list tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from warehouse.db import transaction, write_connection
from warehouse.eventlog import ArticleExtraction, apply_extractions
from warehouse.store import ARTICLE_COLUMNS, bulk_insert

T0 = datetime(2025, 6, 1, 12, tzinfo=timezone.utc)
NOW = T0 + timedelta(days=30)


# -- building event logs through the real write path ----------------------------------------------

def ev(type_, parties, status, date, evidence, location=None):
    return {"type": type_, "parties": list(parties), "status": status, "date": date, "date_text": date,
            "location": location, "evidence": evidence, "evidence_start": 0, "evidence_end": len(evidence),
            "confidence": 0.8, "rule": "test.rule"}


def article(article_id, title, url, published, site_name="Defence Wire", original_url=None, feed="wire"):
    return {"article_id": article_id, "url": url, "original_url": original_url or url, "final_url": url,
            "feed_name": feed, "title": title, "author": None, "site_name": site_name, "language": "en",
            "published": published, "published_source": "feed", "text": title, "text_source": "feed_summary",
            "content_hash": None, "duplicate_of": None, "http_status": 200, "fetch_error": None,
            "fetched_at": published, "run_id": "run1"}


def write_log(db: Path, batches: list[tuple[datetime, list[dict], list[ArticleExtraction]]]) -> None:
    """Each batch: (when defwatch learned it, article rows, extractions) — one ingest each."""
    with write_connection(db) as con:
        for learned, rows, extractions in batches:
            with transaction(con):
                bulk_insert(con, "articles", rows, ARTICLE_COLUMNS)
                apply_extractions(con, extractions, "v1", learned, "ingest")


# A demo-like log: summits past and planned, partnerships in several states, one change of status
# inside the last week, feeds of which one fails.
DEMO_EVENTS = [
    # (article id, title, published, event)
    ("a01", "Canada and the EU sign security and defence partnership", T0,
     ev("partnership", ["Canada", "European Union"], "signed", "2025-06-23",
        "Canada and the European Union signed a Security and Defence Partnership in Brussels.", "Brussels")),
    ("a02", "Japan and the Philippines plan a troop access pact", T0,
     ev("partnership", ["Japan", "Philippines"], "planned", "2025-07",
        "Japan and the Philippines plan to conclude a reciprocal access agreement in July.")),
    ("a03", "EU-Japan summit held in Tokyo", T0,
     ev("summit", ["European Union", "Japan"], "held", "2025-05-23",
        "The EU-Japan summit was held in Tokyo on 23 May.", "Tokyo")),
    ("a04", "NATO leaders to meet in Ankara", T0,
     ev("summit", ["NATO"], "planned", "2026-07-07", "NATO leaders will meet in Ankara on 7 July 2026.", "Ankara")),
    ("a05", "France and Chad end defence cooperation", T0,
     ev("partnership", ["Chad", "France"], "cancelled", "2024-11-28",
        "Chad ended its defence cooperation agreement with France.")),
    ("a06", "Poland and South Korea negotiate arms pact", T0,
     ev("partnership", ["Poland", "South Korea"], "negotiating", "2025-04",
        "Poland and South Korea are negotiating a second executive contract.")),
]
DEMO_PARTIES = sorted({p for *_, e in DEMO_EVENTS for p in e["parties"]})


def demo_log(db: Path) -> None:
    rows = [article(aid, title, f"https://news.example/{aid}", pub) for aid, title, pub, _ in DEMO_EVENTS]
    extractions = [ArticleExtraction(aid, pub, [e]) for aid, _, pub, e in DEMO_EVENTS]
    late_row = article("a07", "Japan and the Philippines sign the access pact", "https://news.example/a07",
                       NOW - timedelta(days=3))
    late = ArticleExtraction("a07", NOW - timedelta(days=3), [
        ev("partnership", ["Japan", "Philippines"], "signed", "2025-07-08",
           "Japan and the Philippines signed the reciprocal access agreement in Manila.", "Manila")])
    new_row = article("a08", "Australia and Indonesia sign defence treaty", "https://news.example/a08",
                      NOW - timedelta(days=2))
    new = ArticleExtraction("a08", NOW - timedelta(days=2), [
        ev("partnership", ["Australia", "Indonesia"], "signed", "2025-06-28",
           "Australia and Indonesia signed a defence cooperation treaty in Canberra.", "Canberra")])
    write_log(db, [(T0, rows, extractions), (NOW - timedelta(days=3), [late_row], [late]),
                   (NOW - timedelta(days=2), [new_row], [new])])
    with write_connection(db) as con:
        con.execute("INSERT INTO feeds (name, url, updated_at) VALUES ('wire', 'https://wire.example/rss', ?), "
                    "('gazette', 'https://gazette.example/rss', ?)", [T0, T0])
        con.execute("INSERT INTO feed_state (feed_name, consecutive_failures, last_outcome, last_success_at) "
                    "VALUES ('wire', 0, 'ok', ?)", [NOW - timedelta(hours=1)])
        con.execute("INSERT INTO feed_state (feed_name, consecutive_failures, last_outcome, last_error_kind, "
                    "last_error) VALUES ('gazette', 3, 'error', 'timeout', 'no answer within 20 s')")
        con.execute("INSERT INTO runs (run_id, started_at, finished_at, status) VALUES "
                    "('run1', ?, ?, 'completed')", [NOW - timedelta(hours=1), NOW - timedelta(minutes=59)])

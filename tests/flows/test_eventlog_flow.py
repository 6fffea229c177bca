"""The event log through real ingest runs: twenty outlets make one event, re-extraction reconciles,
and queries from another process work while an ingest is writing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO
from tests.support.db import query_rows

LEADS = [
    "Norway and the European Union signed a security and defence partnership on Monday in Oslo.",
    "The EU and Norway inked a defence pact in Oslo on June 2.",
    "Oslo and Brussels signed their new security and defence partnership earlier this month.",
    "Norway signed a defence and security partnership with the European Union on Monday.",
    "The European Union concluded a security and defence partnership with Norway this week.",
    "Norwegian and EU officials signed the defence pact in Oslo on Monday.",
    "The European Union and Norway signed a defence partnership on June 2, officials said.",
    "Norway and the EU sealed a security and defence partnership in Oslo this week.",
    "The EU signed a security and defence partnership with Norway on Monday.",
    "Norway and the European Union on Monday signed a pact on security and defence cooperation.",
]
FILLERS = [
    "The agreement covers joint training, information sharing and access to common procurement programmes.",
    "Diplomats said the text had been agreed by negotiators last month and approved by ministers in both capitals.",
]


def page(i: int) -> bytes:
    lead = LEADS[i % len(LEADS)]
    other = FILLERS[i % 2]
    return (
        f'<html lang="en"><head><title>Report {i}</title>'
        f'<meta property="article:published_time" content="2025-06-0{3 + i % 4}T09:00:00Z"></head><body>'
        f'<nav><a href="/">Home</a></nav><article><h1>Oslo pact report number {i}</h1>'
        f"<p>{lead}</p><p>{other}</p>"
        f"<p>Officials from outlet {i} noted that the fisheries dispute between the two sides was not part of the talks, "
        f"and that a separate energy dialogue would continue in the autumn as planned by both administrations.</p>"
        f"</article></body></html>"
    ).encode()


EARLY = (
    b'<html lang="en"><head><title>Talks</title><meta property="article:published_time" content="2025-05-20T09:00:00Z">'
    b'</head><body><article><h1>EU and Norway open defence talks</h1>'
    b"<p>The European Union and Norway are negotiating a security and defence partnership, diplomats said on Tuesday.</p>"
    b"<p>Officials hope that the text can be agreed within weeks, although several questions about industrial "
    b"cooperation and access to common funds remain open between the two delegations.</p></article></body></html>"
)


def rss(base: str, paths: list[str]) -> bytes:
    items = "".join(f"<item><title>{p}</title><link>{base}{p}</link></item>" for p in paths)
    return f'<rss version="2.0"><channel><title>t</title><link>{base}/</link>{items}</channel></rss>'.encode()


def build_site(server, n_feeds: int = 4, per_feed: int = 5, delay: float = 0.0) -> list[str]:
    """n_feeds x per_feed articles; article 0 is an early report of talks, the rest of the signing."""
    names = []
    for f in range(n_feeds):
        paths = []
        for k in range(per_feed):
            i = f * per_feed + k
            server.route(f"/a/{i}", body=EARLY if i == 0 else page(i), delay_s=delay)
            paths.append(f"/a/{i}")
        server.route(f"/feeds/f{f}", content_type="application/rss+xml", body=rss(server.base_url, paths))
        names.append(f"f{f}")
    return names


def registry(tmp_path: Path, server, names: list[str]) -> Path:
    path = tmp_path / "feeds.toml"
    path.write_text("".join(f'[[feed]]\nname = "{n}"\nurl = "{server.url("/feeds/" + n)}"\ntrusted = true\n\n'
                            for n in names))
    return path


@pytest.mark.usefixtures("prefect_harness")
def test_twenty_outlets_make_one_event_with_twenty_reports(server, tmp_path, db_path):
    from flows.ingest import ingest_flow

    names = build_site(server)
    # First only the early report of talks is out; a day later twenty outlets carry the signing.
    server.route("/feeds/first", content_type="application/rss+xml", body=rss(server.base_url, ["/a/0"]))
    first = ingest_flow(db=str(db_path), feeds_file=str(registry(tmp_path, server, ["first"])), force=True,
                        settings_overrides={"workers": 1})
    assert first["events_new"] >= 1
    feeds = registry(tmp_path, server, names)
    summary = ingest_flow(db=str(db_path), feeds_file=str(feeds), force=True, settings_overrides={"workers": 1})
    assert summary["articles_new"] == 19 and summary["articles_known"] == 1

    rows = query_rows(db_path, "SELECT event_id, status, date, mention_count FROM events "
                      "WHERE type = 'partnership' AND parties = ['European Union', 'Norway']")
    assert len(rows) == 1, rows
    event_id, status, date, mentions = rows[0]
    assert status == "signed" and date.startswith("2025-06") and mentions == 20
    assert query_rows(db_path, f"SELECT count(DISTINCT article_id) FROM event_mentions WHERE event_id = '{event_id}'") == [(20,)]
    assert query_rows(db_path, f"SELECT count(DISTINCT a.feed_name) FROM event_mentions m JOIN article_feeds a USING (article_id) "
                      f"WHERE event_id = '{event_id}'") == [(5,)]
    changes = query_rows(db_path, f"SELECT change, old_value, new_value FROM event_history WHERE event_id = '{event_id}' "
                         "ORDER BY learned_at, change")
    assert changes[0] == ("created", None, "negotiating")
    assert ("status", "negotiating", "signed") in changes

    # Re-running ingest on the same articles changes nothing.
    before = query_rows(db_path, "SELECT * EXCLUDE (updated_at) FROM events ORDER BY event_id")
    again = ingest_flow(db=str(db_path), feeds_file=str(feeds), force=True, settings_overrides={"workers": 1})
    assert again["articles_new"] == 0 and again["events_new"] == 0
    assert query_rows(db_path, "SELECT * EXCLUDE (updated_at) FROM events ORDER BY event_id") == before


@pytest.mark.usefixtures("prefect_harness")
def test_reextract_reconciles_without_duplicates(server, tmp_path, db_path):
    from extractors import RULESET_VERSION
    from flows.ingest import ingest_flow
    from flows.reextract import reextract_flow

    feeds = registry(tmp_path, server, build_site(server, n_feeds=2, per_feed=3))
    ingest_flow(db=str(db_path), feeds_file=str(feeds), force=True, settings_overrides={"workers": 1})
    events_before = query_rows(db_path, "SELECT event_id, status, date, mention_count FROM events ORDER BY event_id")
    mentions_before = query_rows(db_path, "SELECT count(*) FROM event_mentions")

    nothing = reextract_flow(db=str(db_path))
    assert nothing["articles"] == 0, "every article was already read by the current rules"

    # Pretend the articles were read by an older rule set, then re-extract.
    with duckdb.connect(str(db_path)) as con:
        con.execute("UPDATE article_extractions SET ruleset_version = 'rules-old'")
        con.execute("UPDATE event_mentions SET ruleset_version = 'rules-old'")
    totals = reextract_flow(db=str(db_path))
    assert totals["articles"] == 6 and totals["events_created"] == 0 and totals["mentions_retracted"] == 0
    assert query_rows(db_path, "SELECT event_id, status, date, mention_count FROM events ORDER BY event_id") == events_before
    assert query_rows(db_path, "SELECT count(*) FROM event_mentions") == mentions_before
    assert query_rows(db_path, "SELECT DISTINCT ruleset_version FROM event_mentions") == [(RULESET_VERSION,)]
    assert query_rows(db_path, "SELECT DISTINCT ruleset_version FROM article_extractions") == [(RULESET_VERSION,)]


def test_queries_from_another_process_work_while_ingest_writes(server, tmp_path):
    db = tmp_path / "busy.duckdb"
    feeds = registry(tmp_path, server, build_site(server, n_feeds=4, per_feed=10, delay=0.25))
    env = {**os.environ, "DEFWATCH_BATCH_SIZE": "4", "DEFWATCH_FETCH__PER_HOST": "2", "DEFWATCH_WORKERS": "1"}
    env = {k: v for k, v in env.items() if not k.startswith("PREFECT_API")}
    ingest = subprocess.Popen([sys.executable, "-m", "flows.cli", "ingest", "--db", str(db), "--feeds", str(feeds),
                               "--json"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    answers, failures = [], []
    try:
        while ingest.poll() is None:
            if not db.exists():
                time.sleep(0.2)
                continue
            out = subprocess.run([sys.executable, "-m", "flows.cli", "query", "--db", str(db), "--format", "csv",
                                  "select count(*) from articles"], cwd=REPO, env=env, capture_output=True, text=True,
                                 timeout=120)
            if out.returncode == 0:
                answers.append(int(out.stdout.splitlines()[1]))
            else:
                failures.append(out.stderr)
    finally:
        stdout, stderr = ingest.communicate(timeout=300)
    assert ingest.returncode == 0, stderr[-3000:]
    assert failures == [], failures[:2]
    assert any(0 < n < 40 for n in answers), f"no query answered during the write: {answers}"
    assert answers == sorted(answers)

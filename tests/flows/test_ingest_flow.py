"""The ingest flow, run for real (Prefect test server, real HTTP on loopback, a real DuckDB file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.db import query_rows

pytestmark = pytest.mark.usefixtures("prefect_harness")

PARA = (
    "<p>Defence officials from {a} and {b} said on Tuesday that talks on a wider security agreement "
    "had made steady progress, with a text on training, logistics and information sharing now largely agreed.</p>"
    "<p>The two governments expect the pact to be signed before the end of the year, officials said, "
    "adding that parliament in {a} would still need to approve it.</p>"
    "<p>Analysts said the agreement reflects a wider push by mid-sized powers to build their own security ties.</p>"
)


def article(title: str, a: str, b: str, site: str = "Test Wire") -> bytes:
    return (
        f'<html lang="en"><head><title>{title}</title><meta property="og:site_name" content="{site}">'
        f'<meta property="article:published_time" content="2025-06-09T10:00:00Z"></head><body>'
        f'<nav><a href="/">Home</a> <a href="/world">World</a></nav>'
        f'<div class="cookie-banner">We use cookies. Accept all</div>'
        f'<article><h1>{title}</h1>{PARA.format(a=a, b=b)}</article>'
        f'<footer>All rights reserved {site}</footer></body></html>'
    ).encode()


def rss(base: str, items: list[tuple[str, str, str]], ttl: str = "") -> bytes:
    xml = "".join(
        f"<item><title>{t}</title><link>{base}{path}</link><pubDate>Mon, 09 Jun 2025 10:00:00 GMT</pubDate>"
        f"<description>{desc}</description></item>"
        for t, path, desc in items
    )
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>{base}/</link>{ttl}'
            f"{xml}</channel></rss>").encode()


def atom(base: str, items: list[tuple[str, str]]) -> bytes:
    xml = "".join(
        f'<entry><title>{t}</title><id>urn:{path}</id><link href="{base}{path}"/>'
        f"<updated>2025-06-09T11:00:00Z</updated><summary>Summary of {t}</summary></entry>"
        for t, path in items
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>a</title>'
            f"<id>urn:a</id><updated>2025-06-09T11:00:00Z</updated>{xml}</feed>").encode()


def registry(tmp_path: Path, server, names: list[str]) -> Path:
    path = tmp_path / "feeds.toml"
    path.write_text("".join(
        f'[[feed]]\nname = "{n}"\nurl = "{server.url("/feeds/" + n)}"\ntrusted = true\n\n' for n in names
    ))
    return path


@pytest.fixture
def site(server):
    b = server.base_url
    server.route("/a/eu-norway", body=article("EU and Norway near pact", "Norway", "the EU"))
    server.route("/a/japan-phil", body=article("Japan and Philippines pact", "Japan", "the Philippines"))
    server.route("/a/copy-of-japan-phil", body=article("Japan and Philippines pact", "Japan", "the Philippines",
                                                         site="Other Site"))
    server.route("/a/gone", status=404, body=b"gone")
    server.route("/a/app", body=b'<html><body><div id="app"></div><script>boot()</script></body></html>')
    server.route("/feeds/wire", content_type="application/rss+xml", etag='"w1"', body=rss(b, [
        ("EU Norway", "/a/eu-norway?utm_source=rss&utm_medium=feed", "EU and Norway near a defence pact."),
        ("Japan Philippines", "/a/japan-phil", "Japan and the Philippines pact."),
        ("Gone", "/a/gone", "The EU and Moldova signed a security and defence partnership on Monday."),
        ("App", "/a/app", "Seoul and Warsaw plan to sign a defence memorandum next month."),
    ], ttl="<ttl>30</ttl>"))
    server.route("/feeds/pacific", content_type="application/atom+xml", body=atom(b, [
        ("EU Norway again", "/a/eu-norway#comments"),            # the same article through a second feed
        ("Japan Philippines (reprint)", "/a/copy-of-japan-phil"),  # a syndicated copy under another URL
    ]))
    server.route("/feeds/down", status=500, body=b"oops")
    server.route("/feeds/homepage", body=b"<html><head><title>Home</title></head><body>Welcome</body></html>")
    server.route("/feeds/slow", delay_s=3, body=b"<rss/>")
    return server


def run(db: Path, feeds: Path, **kw):
    from flows.ingest import ingest_flow

    overrides = {"fetch": {"timeout_s": 1, "total_timeout_s": 2}, "workers": 1}
    return ingest_flow(db=str(db), feeds_file=str(feeds), force=True, settings_overrides=overrides, **kw)


def test_ingest_stores_clean_articles_and_records_every_failure(site, tmp_path, db_path):
    feeds = registry(tmp_path, site, ["wire", "pacific", "down", "homepage", "slow"])
    summary = run(db_path, feeds)

    assert summary["status"] == "completed"
    assert summary["feeds_due"] == 5 and summary["feeds_ok"] == 2 and summary["feeds_failed"] == 3
    assert summary["articles_new"] == 5
    arts = dict((r[0], r[1:]) for r in query_rows(db_path, "SELECT url, text_source, duplicate_of IS NOT NULL, text FROM articles"))
    norway = next(v for k, v in arts.items() if k.endswith("/a/eu-norway"))
    assert norway[0] == "page" and "security agreement" in norway[2]
    assert "cookies" not in norway[2] and "All rights reserved" not in norway[2] and "World" not in norway[2]
    # Tracking parameters and fragments do not make a second article.
    assert sum(1 for k in arts if "eu-norway" in k) == 1
    assert query_rows(db_path, "SELECT count(*) FROM article_feeds a JOIN articles USING (article_id) "
                      "WHERE url LIKE '%eu-norway'") == [(2,)]
    # The reprint is stored once, linked to the first copy, without a second copy of the text.
    copy = next(v for k, v in arts.items() if k.endswith("copy-of-japan-phil"))
    assert copy[1] is True and copy[2] is None
    assert summary["duplicates"] == 1
    # A page that failed (404) or had no text (script shell) falls back to the feed's summary.
    gone = next(v for k, v in arts.items() if k.endswith("/a/gone"))
    app = next(v for k, v in arts.items() if k.endswith("/a/app"))
    assert gone[0] == "feed_summary" and "Moldova" in gone[2]
    assert app[0] == "feed_summary" and "Seoul" in app[2]
    assert summary["fallbacks"] == 2

    errors = {(scope, subject, kind) for scope, subject, kind in query_rows(db_path, "SELECT scope, subject, kind FROM run_errors")}
    assert ("feed", "down", "http_5xx") in errors
    assert ("feed", "homepage", "not_a_feed") in errors
    assert ("feed", "slow", "timeout") in errors
    assert any(s == "article" and k == "http_4xx" and subj.endswith("/a/gone") for s, subj, k in errors)
    assert any(s == "article" and k == "empty_page" and subj.endswith("/a/app") for s, subj, k in errors)
    state = dict((r[0], r[1:]) for r in query_rows(db_path, "SELECT feed_name, last_outcome, consecutive_failures, last_error, etag FROM feed_state"))
    assert state["down"][:2] == ("error", 1) and "HTTP 500" in state["down"][2]
    assert state["wire"][:2] == ("ok", 0) and state["wire"][3] == '"w1"'
    assert query_rows(db_path, "SELECT status FROM runs") == [("completed",)]


def test_rerun_adds_nothing_and_fetches_no_known_page(site, tmp_path, db_path):
    feeds = registry(tmp_path, site, ["wire", "pacific"])
    first = run(db_path, feeds)
    page_hits = {p: len(site.hits(p)) for p in ("/a/eu-norway", "/a/japan-phil", "/a/copy-of-japan-phil")}
    second = run(db_path, feeds)

    assert first["articles_new"] == 5
    assert second["articles_new"] == 0 and second["pages_fetched"] == 0
    # wire answers 304 to its ETag (no parsing); pacific has no validators, so it is parsed and
    # its two entries are recognised as known without fetching them.
    assert second["feeds_not_modified"] == 1 and second["articles_known"] == 2
    assert site.hits("/feeds/wire")[-1].status == 304
    assert {p: len(site.hits(p)) for p in page_hits} == page_hits
    assert query_rows(db_path, "SELECT count(*), count(DISTINCT article_id) FROM articles") == [(5, 5)]


def test_a_page_that_failed_without_fallback_is_retried_next_run(server, tmp_path, db_path):
    b = server.base_url
    server.route("/feeds/f", content_type="application/rss+xml", body=(
        f'<rss version="2.0"><channel><title>t</title><item><title>x</title><link>{b}/a/flaky</link></item>'
        f"</channel></rss>").encode())
    server.route("/a/flaky", status=503)
    feeds = registry(tmp_path, server, ["f"])
    first = run(db_path, feeds)
    assert first["articles_new"] == 0 and first["pages_failed"] == 1
    server.route("/a/flaky", body=article("Recovered", "Chile", "Peru"))
    second = run(db_path, feeds)
    assert second["articles_new"] == 1
    assert query_rows(db_path, "SELECT text_source FROM articles") == [("page",)]


def test_bad_registry_fails_before_touching_the_database(tmp_path, db_path):
    from flows.errors import ConfigError

    feeds = tmp_path / "feeds.toml"
    feeds.write_text('[[feed]]\nname = "x"\nurl = "not a url"\n')
    with pytest.raises(ConfigError, match="line 1"):
        run(db_path, feeds)
    assert not db_path.exists()


def test_a_page_dated_only_to_the_month_keeps_that_precision(server, tmp_path, db_path):
    """htmldate completes "2025-06" with a day it makes up; defwatch keeps the month, stores the
    precision, and the extractor resolves "next month" against the month, with no invented day."""
    b = server.base_url
    body = ("<p>The European Union and Canada plan to sign a security and defence partnership next month, "
            "officials said, after talks that lasted more than a year.</p>"
            "<p>The agreement covers joint procurement, military mobility and the protection of undersea "
            "cables, and would make Canada the first non-European partner of the new programme.</p>")
    server.route("/a/month", body=(
        '<html lang="en"><head><title>EU and Canada to sign defence pact</title>'
        '<meta property="article:published_time" content="2025-06"></head><body>'
        f"<article><h1>EU and Canada to sign defence pact</h1>{body}</article></body></html>").encode())
    server.route("/feeds/undated", content_type="application/rss+xml", body=(
        f'<rss version="2.0"><channel><title>t</title><item><title>EU Canada</title><link>{b}/a/month</link>'
        "</item></channel></rss>").encode())
    summary = run(db_path, registry(tmp_path, server, ["undated"]))
    assert summary["articles_new"] == 1
    assert query_rows(db_path, "SELECT CAST(published AS DATE)::VARCHAR, published_source, published_precision FROM articles") == [
        ("2025-06-01", "page", "month")]
    assert query_rows(db_path, "SELECT type, parties, status, date FROM events") == [
        ("partnership", ["Canada", "European Union"], "planned", "2025-07")]

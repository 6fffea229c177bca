"""One source of each kind (feed, sitemap index, listing page) on a real loopback site, ingested by
real flow runs: their articles are stored alike, a sitemap's next poll fetches only what changed,
and a listing page's navigation links are never fetched."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.flows.test_ingest_flow import article, rss, run
from tests.support.db import query_rows

pytestmark = pytest.mark.usefixtures("prefect_harness")


def urlset(base: str, items: list[tuple[str, str]]) -> bytes:
    urls = "".join(
        f"<url><loc>{base}{path}</loc><news:news><news:publication><news:name>MoD</news:name>"
        f"<news:language>en</news:language></news:publication><news:publication_date>{date}</news:publication_date>"
        f"<news:title>{path}</news:title></news:news></url>" for path, date in items)
    return (f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>').encode()


def index(base: str, children: list[tuple[str, str]]) -> bytes:
    maps = "".join(f"<sitemap><loc>{base}{p}</loc><lastmod>{m}</lastmod></sitemap>" for p, m in children)
    return (f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{maps}</sitemapindex>").encode()


LISTING = b"""<html><head><title>News</title></head><body>
<header><a href="/news/press-office-contact-details">Press office</a></header>
<nav class="main-nav"><a href="/">Home</a> <a href="/news/">News</a>
  <a href="/news/archive-2024-annual-report">Archive</a></nav>
<main><h1>News</h1>
  <div class="card"><h2><a href="/news/2025/eu-norway-defence-pact">EU and Norway near pact</a></h2></div>
  <div class="card"><h2><a href="/news/2025/japan-philippines-access-deal">Japan and the Philippines</a></h2></div>
  <a href="/about">About</a>
</main>
<div class="pagination"><a href="/news/page-2-of-the-news">Next page</a></div>
<footer><a href="/news/privacy-and-cookies-policy">Privacy</a></footer>
</body></html>"""


@pytest.fixture
def kinds_site(server):
    b = server.base_url
    for path, a, c in [("/a/wire-1", "Poland", "Sweden"), ("/news/2025/eu-norway-defence-pact", "Norway", "the EU"),
                       ("/news/2025/japan-philippines-access-deal", "Japan", "the Philippines"),
                       ("/press/old-1", "France", "India"), ("/press/new-1", "Germany", "Canada"),
                       ("/press/new-2", "Italy", "Kenya")]:
        server.route(path, body=article(f"{a} and {c} pact", a, c))
    server.route("/feeds/wire", content_type="application/rss+xml", body=rss(b, [("Wire", "/a/wire-1", "x")]))
    server.route("/news", body=LISTING)
    server.route("/sitemaps/old.xml", content_type="application/xml",
                 body=urlset(b, [("/press/old-1", "2025-01-10T09:00:00Z")]))
    server.route("/sitemaps/recent.xml", content_type="application/xml",
                 body=urlset(b, [("/press/new-1", "2025-06-09T09:00:00Z")]))
    server.route("/sitemap_index.xml", content_type="application/xml", etag='"i1"', body=index(b, [
        ("/sitemaps/old.xml", "2025-01-10T09:00:00Z"), ("/sitemaps/recent.xml", "2025-06-09T09:00:00Z")]))
    return server


def test_one_source_of_each_kind(kinds_site, tmp_path, db_path):
    site = kinds_site
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(
        f'[[feed]]\nname = "wire"\nurl = "{site.url("/feeds/wire")}"\ntrusted = true\n\n'
        f'[[feed]]\nname = "mod-sitemap"\nkind = "sitemap"\nurl = "{site.url("/sitemap_index.xml")}"\ntrusted = true\n\n'
        f'[[feed]]\nname = "mod-news"\nkind = "page"\nurl = "{site.url("/news")}"\ntrusted = true\n')

    first = run(db_path, feeds)
    assert first["status"] == "completed" and first["feeds_ok"] == 3 and first["articles_new"] == 5
    sources = dict(query_rows(db_path, "SELECT a.url, f.feed_name FROM articles a JOIN article_feeds f USING (article_id)"))
    by_path = {u.split(":", 2)[2].split("/", 1)[1]: n for u, n in sources.items()}
    assert by_path == {
        "a/wire-1": "wire",
        "press/old-1": "mod-sitemap", "press/new-1": "mod-sitemap",
        "news/2025/eu-norway-defence-pact": "mod-news", "news/2025/japan-philippines-access-deal": "mod-news",
    }
    # Downstream the kinds are alike: every article's text comes from its page, and each has its event.
    assert query_rows(db_path, "SELECT count(*) FROM articles WHERE text_source = 'page'") == [(5,)]
    assert query_rows(db_path, "SELECT count(DISTINCT article_id) FROM event_mentions") == [(5,)]
    # The listing page's header, navigation, pagination and footer links were never fetched.
    for nav in ("/news/press-office-contact-details", "/news/archive-2024-annual-report", "/news/page-2-of-the-news",
                "/news/privacy-and-cookies-policy", "/about", "/"):
        assert site.hits(nav) == [], nav

    # The site publishes one new article in its recent sitemap and says so in the index.
    b = site.base_url
    now = datetime.now(timezone.utc) + timedelta(minutes=1)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    site.route("/sitemaps/recent.xml", content_type="application/xml",
               body=urlset(b, [("/press/new-2", stamp), ("/press/new-1", "2025-06-09T09:00:00Z")]))
    site.route("/sitemap_index.xml", content_type="application/xml", etag='"i2"', body=index(b, [
        ("/sitemaps/old.xml", "2025-01-10T09:00:00Z"), ("/sitemaps/recent.xml", stamp)]))
    site.seen.clear()
    second = run(db_path, feeds)
    assert second["articles_new"] == 1
    fetched = sorted({s.path for s in site.seen})
    # The index, the one child sitemap that changed, the one new article; plus the other two sources.
    assert fetched == ["/feeds/wire", "/news", "/press/new-2", "/sitemap_index.xml", "/sitemaps/recent.xml"]
    assert site.hits("/sitemap_index.xml")[0].headers.get("if-none-match") == '"i1"'

    # Nothing changed: the index answers 304 and nothing behind it is fetched.
    site.seen.clear()
    third = run(db_path, feeds)
    assert third["articles_new"] == 0
    assert [s.status for s in site.hits("/sitemap_index.xml")] == [304]
    assert site.hits("/sitemaps/recent.xml") == [] and site.hits("/sitemaps/old.xml") == []
    state = dict(query_rows(db_path, "SELECT feed_name, last_outcome FROM feed_state"))
    assert state == {"wire": "ok", "mod-sitemap": "not_modified", "mod-news": "ok"}

    # `feeds list` shows each source's kind and what it yielded.
    from tests.support.cli import defwatch

    out = defwatch("feeds", "list", "--feeds", str(feeds), "--db", str(db_path), "--format", "csv")
    assert out.returncode == 0, out.stderr
    import csv
    import io

    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(out.stdout))}
    today = f"{datetime.now(timezone.utc):%Y-%m-%d}"
    names = ("wire", "mod-sitemap", "mod-news")
    assert [rows[n]["kind"] for n in names] == ["feed", "sitemap", "page"]
    assert [(rows[n]["articles"], rows[n]["events"]) for n in names] == [("1", "1"), ("3", "3"), ("2", "2")]
    assert all(rows[n]["last new article"].startswith(today) for n in names)

"""Sitemaps and listing pages read into entries: namespaces, dates, gzip, hostile XML, navigation."""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta, timezone

from flows.sources.listing import parse_listing
from flows.sources.parse import MAX_ENTRIES
from flows.sources.sitemap import changed_children, newest_first, parse_sitemap

NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'


def test_news_sitemap_entries_take_the_publication_date_then_lastmod():
    body = (f'<urlset {NS}><url><loc>https://m.example/a</loc><lastmod>2025-06-01</lastmod>'
            f'<news:news><news:publication_date>2025-06-09T10:00:00+02:00</news:publication_date>'
            f'<news:title>Pact &amp; more</news:title></news:news></url>'
            f'<url><loc>https://m.example/b</loc><lastmod>2025-06-02</lastmod></url>'
            f'<url><loc> </loc></url></urlset>').encode()
    parsed = newest_first(parse_sitemap(body, "https://m.example/s.xml").parsed)
    assert [(e.link, e.title, e.published) for e in parsed.entries] == [
        ("https://m.example/a", "Pact & more", datetime(2025, 6, 9, 8, 0, tzinfo=timezone.utc)),
        ("https://m.example/b", None, datetime(2025, 6, 2, tzinfo=timezone.utc)),
    ]
    assert parsed.error_kind is None and parsed.warning is None and parsed.version == "sitemap"


def test_gzipped_sitemap_and_gzip_bomb():
    body = gzip.compress(f'<urlset {NS}><url><loc>https://m.example/a</loc></url></urlset>'.encode())
    assert [e.link for e in parse_sitemap(body, "u").parsed.entries] == ["https://m.example/a"]
    bomb = gzip.compress(b"<urlset>" + b" " * 2_000_000 + b"</urlset>")
    parsed = parse_sitemap(bomb, "https://m.example/s.xml.gz", max_bytes=1_000_000).parsed
    assert parsed.error_kind == "too_large"
    assert parsed.error == "https://m.example/s.xml.gz: the gzipped sitemap unpacks to more than 1,000,000 bytes (fetch.max_bytes)"


def test_hostile_or_wrong_xml_is_an_error_not_an_expansion():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
            b"<urlset><url><loc>&b;</loc></url></urlset>")
    parsed = parse_sitemap(bomb, "https://m.example/s.xml").parsed
    assert (parsed.error_kind, parsed.error) == ("not_a_feed", "https://m.example/s.xml: the sitemap declares XML entities; refused as unsafe")
    assert parse_sitemap(b"<html><body>hi</body></html>", "u").parsed.error == "u is XML but not a sitemap (its root element is <html>)"
    assert parse_sitemap(b"<html><body>hi", "u").parsed.error == "u is an HTML page, not a sitemap"
    assert parse_sitemap(b"", "u").parsed.error_kind == "empty_feed"


def test_a_huge_sitemap_keeps_the_newest_entries_with_a_warning():
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    urls = "".join(f"<url><loc>https://m.example/{i}</loc><lastmod>{(start + timedelta(hours=i)).isoformat()}</lastmod></url>"
                   for i in range(MAX_ENTRIES + 5))
    parsed = newest_first(parse_sitemap(f"<urlset {NS}>{urls}</urlset>".encode(), "u").parsed)
    assert len(parsed.entries) == MAX_ENTRIES and parsed.entries[0].link == f"https://m.example/{MAX_ENTRIES + 4}"
    assert parsed.warning == (f"the sitemap lists {MAX_ENTRIES + 5:,} URLs; only the newest {MAX_ENTRIES:,} were read "
                              f"(flows.sources.parse.MAX_ENTRIES)")


def test_index_children_changed_since_the_last_good_poll():
    body = (f'<sitemapindex {NS}><sitemap><loc>https://m.example/old.xml</loc><lastmod>2025-01-01</lastmod></sitemap>'
            f'<sitemap><loc>https://m.example/new.xml</loc><lastmod>2025-06-09T12:00:00Z</lastmod></sitemap>'
            f'<sitemap><loc>https://m.example/undated.xml</loc></sitemap></sitemapindex>').encode()
    children = parse_sitemap(body, "u").children
    assert changed_children(children, None) == ["https://m.example/new.xml", "https://m.example/old.xml",
                                                 "https://m.example/undated.xml"]
    last = datetime(2025, 6, 9, 11, 30, tzinfo=timezone.utc)
    assert changed_children(children, last) == ["https://m.example/new.xml", "https://m.example/undated.xml"]
    assert changed_children(children, last + timedelta(hours=2)) == ["https://m.example/undated.xml"]


PAGE = b"""<html><head><base href="https://www.mod.example/"></head><body>
<nav><a href="/news/annual-report-archive-2024">Archive</a></nav>
<div id="breadcrumb"><a href="/news/all-the-news-items">News</a></div>
<ul class="list"><li class="teaser"><span>Date</span><a href="news/2025/minister-signs-pact?ref=list#top">Minister signs pact</a></li>
<li class="teaser"><a href="/news/2025/joint-exercise-ends">Joint exercise ends</a></li>
<li class="teaser"><a href="https://elsewhere.example/news/some-other-story-here">Elsewhere</a></li></ul>
<a href="/contact">Contact</a> <a href="/assets/press-kit-2025-final.pdf">Press kit</a>
<a href="/events/2025/defence-expo-opens">Expo</a>
<footer><a href="/news/privacy-and-cookies">Privacy</a></footer></body></html>"""


def test_listing_page_without_selector_follows_the_sites_article_pattern():
    parsed = parse_listing(PAGE, "https://www.mod.example/news")
    assert [(e.link, e.title) for e in parsed.entries] == [
        ("https://www.mod.example/news/2025/minister-signs-pact?ref=list", "Minister signs pact"),
        ("https://www.mod.example/news/2025/joint-exercise-ends", "Joint exercise ends"),
    ]
    assert parsed.warning is None


def test_listing_page_with_a_selector():
    parsed = parse_listing(PAGE, "https://www.mod.example/news", "li.teaser")
    assert [e.link for e in parsed.entries] == [
        "https://www.mod.example/news/2025/minister-signs-pact?ref=list",
        "https://www.mod.example/news/2025/joint-exercise-ends",
        "https://elsewhere.example/news/some-other-story-here",
    ]
    empty = parse_listing(PAGE, "https://www.mod.example/news", "article h3 a")
    assert empty.entries == [] and empty.warning == "https://www.mod.example/news: the selector 'article h3 a' matched no links"


def test_registry_kinds_and_selectors_are_checked_before_anything_runs():
    import pytest

    from flows.errors import ConfigError
    from flows.sources.registry import parse_feeds

    ok = parse_feeds('[[feed]]\nname = "n"\nurl = "https://m.example/news"\nkind = "page"\nselector = "h2 > a"\n')
    assert (ok[0].kind, ok[0].selector) == ("page", "h2 > a")
    assert parse_feeds('[[feed]]\nname = "f"\nurl = "https://m.example/rss"\n')[0].kind == "feed"
    for extra, message in [
        ('kind = "blog"', "feeds.toml, line 1: kind: Input should be 'feed', 'sitemap' or 'page'. Nothing was changed."),
        ('kind = "page"\nselector = "a[["', "feeds.toml, line 1: selector: Value error, not a CSS selector "
                                            "(Expected ident or '*', got <DELIM '[' at 2>). Nothing was changed."),
        ('selector = "a"', 'feeds.toml, line 1: feed: Value error, selector is only used by kind = "page". Nothing was changed.'),
    ]:
        with pytest.raises(ConfigError) as exc:
            parse_feeds(f'[[feed]]\nname = "n"\nurl = "https://m.example/"\n{extra}\n')
        assert str(exc.value) == message

"""feedparser on fetched bytes: each feed dialect, malformed feeds kept, non-feeds refused."""

from __future__ import annotations

from datetime import datetime, timezone

from flows.sources.parse import parse_feed

RSS2 = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>Wire</title><link>http://example.org/</link><ttl>45</ttl>
<item><title>Pact &amp; summit</title><link>http://example.org/a</link>
<pubDate>Tue, 10 Jun 2025 08:00:00 GMT</pubDate><description>&lt;p&gt;Short &lt;b&gt;summary&lt;/b&gt;&lt;/p&gt;</description>
<content:encoded><![CDATA[<p>Full text of the story.</p>]]></content:encoded></item>
<item><title>Second</title><link>http://example.org/b</link><pubDate>Wed, 11 Jun 2025 08:00:00 GMT</pubDate></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom</title><id>urn:x</id><updated>2025-06-10T00:00:00Z</updated>
<entry><title>One</title><id>urn:1</id><link href="http://example.org/one"/><updated>2025-06-10T09:30:00Z</updated>
<summary>An atom summary.</summary></entry></feed>"""

RSS1 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="http://example.org/"><title>RDF</title><link>http://example.org/</link><description>d</description></channel>
<item rdf:about="http://example.org/r1"><title>R1</title><link>http://example.org/r1</link><dc:date>2025-06-09T10:00:00Z</dc:date></item>
</rdf:RDF>"""


def test_rss2_entries_dates_text_and_ttl():
    feed = parse_feed(RSS2, "http://example.org/feed")
    assert feed.error_kind is None and feed.warning is None
    assert [e.link for e in feed.entries] == ["http://example.org/a", "http://example.org/b"]
    first = feed.entries[0]
    assert first.title == "Pact & summit"
    assert first.summary == "Short summary"
    assert first.content == "Full text of the story."
    assert first.published == datetime(2025, 6, 10, 8, 0, tzinfo=timezone.utc)
    assert feed.ttl_s == 45 * 60
    assert feed.typical_interval_s == 86400


def test_atom_and_rss1():
    atom = parse_feed(ATOM, "http://example.org/atom")
    assert [e.link for e in atom.entries] == ["http://example.org/one"] and atom.version.startswith("atom")
    rdf = parse_feed(RSS1, "http://example.org/rdf")
    assert [e.link for e in rdf.entries] == ["http://example.org/r1"] and rdf.version == "rss10"
    assert rdf.entries[0].published == datetime(2025, 6, 9, 10, 0, tzinfo=timezone.utc)


def test_malformed_feed_keeps_its_entries_with_a_warning():
    broken = RSS2.replace(b"<title>Second</title>", b"<title>Second & broken</title>").replace(b"</channel></rss>", b"")
    feed = parse_feed(broken, "http://example.org/feed")
    assert feed.error_kind is None
    assert len(feed.entries) == 2
    assert feed.warning and feed.warning.startswith("malformed feed, 2 entries recovered")


def test_html_page_served_as_a_feed_is_an_error():
    page = b"<!doctype html><html><head><title>Home</title></head><body><p>Welcome</p></body></html>"
    feed = parse_feed(page, "http://example.org/news", "text/html")
    assert feed.error_kind == "not_a_feed"
    assert "HTML page, not a feed" in feed.error


def test_empty_body_and_garbage_are_errors_not_crashes():
    assert parse_feed(b"", "http://e/f").error_kind == "empty_feed"
    garbage = parse_feed(bytes(range(256)) * 10, "http://e/f")
    assert garbage.error_kind == "not_a_feed" and garbage.entries == []


def test_wellformed_feed_without_items_is_a_warning():
    feed = parse_feed(b'<rss version="2.0"><channel><title>t</title></channel></rss>', "http://e/f")
    assert feed.error_kind is None and "no entries" in feed.warning


def test_entity_expansion_is_not_performed():
    lol = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
           b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
           b'<rss version="2.0"><channel><title>&lol3;</title><item><title>a</title><link>http://e/a</link></item></channel></rss>')
    feed = parse_feed(lol, "http://e/f")
    # Whatever feedparser recovers, it is bounded: no expansion into a huge title.
    assert all(len(e.title or "") < 10_000 for e in feed.entries)

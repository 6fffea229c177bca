"""Sitemaps as a source: a (news) sitemap's URLs become entries, a sitemap index's child sitemaps
are read too, and only the children that changed since the source's last good poll are fetched.

Parsed with defusedxml (no entity expansion) on bytes our fetcher brought in (its size limit
applies; a gzipped ``.xml.gz`` sitemap is decompressed here under the same limit). Each entry's
date is ``news:publication_date`` where the sitemap is a news sitemap, else ``lastmod``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from xml.etree.ElementTree import Element

from flows.sources.parse import MAX_ENTRIES, FeedEntry, ParsedFeed, html_to_text

MAX_CHILD_SITEMAPS = 50  # of an index, the most recently changed; the rest wait for a later poll
# A child sitemap whose lastmod is this much older than the last good poll is taken as unchanged
# (the margin absorbs clocks that differ between the site and us).
CHANGED_MARGIN = timedelta(hours=1)


@dataclass
class SitemapParse:
    parsed: ParsedFeed
    children: list[tuple[str, datetime | None]] = field(default_factory=list)  # an index's sitemaps


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _child(el: Element, *path: str) -> Element | None:
    node: Element | None = el
    for name in path:
        if node is None:
            return None
        node = next((c for c in node if _local(c.tag) == name), None)
    return node


def _text(el: Element, *path: str) -> str | None:
    node = _child(el, *path)
    return (node.text or "").strip() or None if node is not None else None


def parse_date(value: str | None) -> datetime | None:
    """W3C datetime as sitemaps write it: a day, or a time with a zone (Z or ±hh:mm)."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def gunzip_capped(body: bytes, limit: int) -> bytes | None:
    """A gzip body decompressed, or None when it would exceed ``limit`` bytes (a gzip bomb)."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = d.decompress(body, limit + 1)
    return None if len(out) > limit else out


def parse_sitemap(body: bytes, url: str, max_bytes: int = 5_000_000) -> SitemapParse:
    import xml.etree.ElementTree as ET

    import defusedxml.ElementTree as DET
    from defusedxml import DefusedXmlException

    if body[:2] == b"\x1f\x8b":
        unpacked = gunzip_capped(body, max_bytes)
        if unpacked is None:
            return SitemapParse(ParsedFeed(error_kind="too_large", error=f"{url}: the gzipped sitemap unpacks to more "
                                                                          f"than {max_bytes:,} bytes (fetch.max_bytes)"))
        body = unpacked
    if not body.strip():
        return SitemapParse(ParsedFeed(error_kind="empty_feed", error=f"{url} answered with an empty body"))
    try:
        root = DET.fromstring(body)
    except DefusedXmlException:
        return SitemapParse(ParsedFeed(error_kind="not_a_feed", error=f"{url}: the sitemap declares XML entities; "
                                                                       f"refused as unsafe"))
    except ET.ParseError as exc:
        looks_html = b"<html" in body[:2048].lower()
        hint = "an HTML page, not a sitemap" if looks_html else f"not well-formed XML ({exc})"
        return SitemapParse(ParsedFeed(error_kind="not_a_feed", error=f"{url} is {hint}"))
    kind = _local(root.tag)
    if kind == "sitemapindex":
        children = [(loc, parse_date(_text(s, "lastmod"))) for s in root if _local(s.tag) == "sitemap"
                    for loc in [_text(s, "loc")] if loc]
        return SitemapParse(ParsedFeed(version="sitemapindex"), children)
    if kind != "urlset":
        return SitemapParse(ParsedFeed(error_kind="not_a_feed",
                                       error=f"{url} is XML but not a sitemap (its root element is <{kind}>)"))
    entries = []
    for u in root:
        if _local(u.tag) != "url":
            continue
        loc = _text(u, "loc")
        if not loc:
            continue
        published = parse_date(_text(u, "news", "publication_date")) or parse_date(_text(u, "lastmod"))
        entries.append(FeedEntry(link=loc, title=html_to_text(_text(u, "news", "title")), published=published,
                                 summary=None, content=None))
    return SitemapParse(ParsedFeed(entries=entries, version="sitemap"))


def newest_first(parsed: ParsedFeed) -> ParsedFeed:
    """Entries newest first (undated last), at most MAX_ENTRIES, with a warning when cut."""
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    parsed.entries.sort(key=lambda e: e.published or epoch, reverse=True)
    if len(parsed.entries) > MAX_ENTRIES:
        parsed.warning = (f"the sitemap lists {len(parsed.entries):,} URLs; only the newest {MAX_ENTRIES:,} "
                          f"were read (flows.sources.parse.MAX_ENTRIES)")
        del parsed.entries[MAX_ENTRIES:]
    if not parsed.entries and not parsed.warning:
        parsed.warning = "the sitemap lists no URLs"
    return parsed


def changed_children(children: list[tuple[str, datetime | None]], last_success: datetime | None
                     ) -> list[str]:
    """The child sitemaps to fetch: all on a first poll; afterwards those changed since the last
    good poll (by lastmod; one without lastmod is always fetched), newest first, capped."""
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    picked = [(loc, mod) for loc, mod in children
              if last_success is None or mod is None or mod >= last_success - CHANGED_MARGIN]
    picked.sort(key=lambda c: c[1] or epoch, reverse=True)
    return list(dict.fromkeys(loc for loc, _ in picked[:MAX_CHILD_SITEMAPS]))

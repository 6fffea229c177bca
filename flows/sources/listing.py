"""Listing pages as a source: a news page's links to articles become entries.

With a CSS selector (``selector`` in feeds.toml), the links it selects: an ``<a>`` itself, or the
first link inside each selected element (a teaser card). Without one, the site's own article-link
pattern: links on the page's host, outside navigation (``nav``, ``header``, ``footer``, ``aside``,
menus, breadcrumbs, pagination), whose last path segment reads like an article (a slug of words
or a long number), grouped by their first path segment; the largest group is the articles.
"""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urljoin, urlsplit

from flows.sources.parse import MAX_ENTRIES, FeedEntry, ParsedFeed, html_to_text

_NAV_TAGS = frozenset({"nav", "header", "footer", "aside", "menu"})
_NAV_WORDS = re.compile(r"nav|menu|footer|header|breadcrumb|pagination|pager|sidebar|social|share|skip", re.I)
_ARTICLE_SLUG = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+){2,}|\d{4,}", re.I)
_STATIC = re.compile(r"\.(?:css|js|png|jpe?g|gif|svg|webp|pdf|zip|xml|rss|ico)$", re.I)


def _in_navigation(el) -> bool:
    node = el.getparent()
    while node is not None:
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag.lower() in _NAV_TAGS or node.get("role") == "navigation":
            return True
        if _NAV_WORDS.search(f"{node.get('class', '')} {node.get('id', '')}"):
            return True
        node = node.getparent()
    return False


def _looks_like_article(path: str) -> bool:
    last = path.rstrip("/").rsplit("/", 1)[-1]
    last = re.sub(r"\.html?$", "", last)
    return bool(last) and not _STATIC.search(path) and bool(_ARTICLE_SLUG.fullmatch(last) or _ARTICLE_SLUG.search(last))


def parse_listing(body: bytes, url: str, selector: str | None = None) -> ParsedFeed:
    import lxml.html
    from lxml.etree import ParserError

    if not body.strip():
        return ParsedFeed(error_kind="empty_page", error=f"{url} answered with an empty body")
    try:
        doc = lxml.html.document_fromstring(body)
    except (ParserError, ValueError) as exc:
        return ParsedFeed(error_kind="not_html", error=f"{url}: not an HTML page ({exc})")
    base = doc.xpath("string(//base/@href)") or url
    links: list[tuple[str, str | None]] = []
    if selector:
        from lxml.cssselect import CSSSelector

        for el in CSSSelector(selector)(doc):
            a = el if el.tag == "a" and el.get("href") else next(iter(el.xpath(".//a[@href]")), None)
            if a is not None:
                links.append((urljoin(base, a.get("href")), html_to_text(a.text_content())))
    else:
        host = (urlsplit(url).hostname or "").lower()
        page = urlsplit(url)._replace(fragment="").geturl()
        candidates = []
        for a in doc.xpath("//a[@href]"):
            href = urljoin(base, a.get("href"))
            parts = urlsplit(href)
            if parts.scheme not in ("http", "https") or (parts.hostname or "").lower() != host:
                continue
            if parts._replace(fragment="").geturl() == page or _in_navigation(a) or not _looks_like_article(parts.path):
                continue
            segments = [s for s in parts.path.split("/") if s]
            candidates.append((href, html_to_text(a.text_content()), segments[0] if len(segments) > 1 else ""))
        if candidates:
            pattern, _ = Counter(c[2] for c in candidates).most_common(1)[0]
            links = [(href, title) for href, title, first in candidates if first == pattern]
    seen: dict[str, FeedEntry] = {}
    for href, title in links:
        href = href.split("#", 1)[0]
        if urlsplit(href).scheme in ("http", "https") and href not in seen:
            seen[href] = FeedEntry(link=href, title=title, published=None, summary=None, content=None)
    out = ParsedFeed(entries=list(seen.values())[:MAX_ENTRIES], version="listing")
    if not out.entries:
        how = f"the selector {selector!r} matched no links" if selector else "no links that look like articles"
        out.warning = f"{url}: {how}"
    return out

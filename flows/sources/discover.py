"""Feed discovery from a site's or page's address, through defwatch's own fetcher and guard.

trafilatura's ``find_feed_urls`` downloads with its own HTTP (no address guard, no limits), so only
its HTML part is used: ``trafilatura.feeds.determine_feed`` reads ``<link rel="alternate">`` (and,
failing that, feed-looking ``<a>`` links) from a page we fetched. When the page names none, the
common feed paths of the site are tried, as Miniflux does. Every candidate is fetched with the
same fetcher, limits and guard as a feed, and kept only if feedparser reads it as a feed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from flows.settings import FetchSettings
from flows.sources.fetch import FetchRequest, FetchResult, run_fetches
from flows.sources.parse import ParsedFeed, parse_feed
from flows.sources.urls import canonical_url, same_origin

COMMON_PATHS = ("/feed", "/rss", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml", "/feeds/posts/default",
                "/?feed=rss2")
MAX_CANDIDATES = 12


@dataclass
class FoundFeed:
    url: str
    parsed: ParsedFeed

    @property
    def title(self) -> str | None:
        return self.parsed.title


@dataclass
class Discovery:
    url: str
    is_feed: bool = False               # the address itself is a feed
    feeds: list[FoundFeed] = field(default_factory=list)
    error: str | None = None            # the address itself could not be fetched
    requests: int = 0
    sitemaps: list[str] = field(default_factory=list)  # named by robots.txt, when no feed was found


def _is_feed(parsed: ParsedFeed) -> bool:
    return parsed.error_kind is None and bool(parsed.version)


def _page_candidates(html: bytes, page_url: str) -> list[str]:
    from trafilatura.feeds import FeedParameters, determine_feed

    parts = urlsplit(page_url)
    base = f"{parts.scheme}://{parts.netloc}"
    text = html.decode("utf-8", errors="replace")
    return determine_feed(text, FeedParameters(base, parts.hostname or "", page_url))


def discover(url: str, settings: FetchSettings, trusted: bool = False) -> Discovery:
    """The feeds at ``url``: itself if it is one, else those its page links to or the site serves
    at the common paths. ``trusted`` lets the guard pass the address's own scheme, host and port."""
    out = Discovery(url=url)
    (first,), n = run_fetches(settings, [FetchRequest(url=url, trusted=trusted)])
    out.requests += n
    if not first.ok:
        out.error = first.error or f"{url} answered HTTP {first.status}"
        return out
    parsed = parse_feed(first.body, first.final_url, first.content_type)
    if _is_feed(parsed):
        out.is_feed = True
        out.feeds.append(FoundFeed(url=first.final_url if first.final_url != url else url, parsed=parsed))
        return out
    candidates = _page_candidates(first.body, first.final_url)
    if not candidates:
        candidates = [urljoin(first.final_url, p) for p in COMMON_PATHS]
    found = _check(candidates[:MAX_CANDIDATES], settings, url if trusted else None, out)
    out.feeds = found
    if not found:
        out.sitemaps = _robots_sitemaps(first.final_url, settings, url if trusted else None, out)
    return out


def _robots_sitemaps(page_url: str, settings: FetchSettings, trusted_origin: str | None, out: Discovery) -> list[str]:
    """The ``Sitemap:`` lines of the site's robots.txt: what to suggest when it has no feed."""
    robots = urljoin(page_url, "/robots.txt")
    (res,), n = run_fetches(settings, [FetchRequest(url=robots, trusted=trusted_origin is not None
                                                    and same_origin(robots, trusted_origin))])
    out.requests += n
    if not res.ok:
        return []
    lines = res.body.decode("utf-8", errors="replace").splitlines()
    found = [line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("sitemap:")]
    return [u for u in dict.fromkeys(found) if urlsplit(u).scheme in ("http", "https")][:5]


def _check(candidates: list[str], settings: FetchSettings, trusted_origin: str | None, out: Discovery) -> list[FoundFeed]:
    reqs = [FetchRequest(url=c, trusted=trusted_origin is not None and same_origin(c, trusted_origin))
            for c in dict.fromkeys(candidates)]
    results: list[FetchResult]
    results, n = run_fetches(settings, reqs)
    out.requests += n
    found: dict[str, FoundFeed] = {}
    for res in results:
        if not res.ok:
            continue
        parsed = parse_feed(res.body, res.final_url, res.content_type)
        if _is_feed(parsed):
            found.setdefault(canonical_url(res.request.url), FoundFeed(url=res.request.url, parsed=parsed))
    return list(found.values())

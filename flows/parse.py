"""Feed parsing: feedparser on bytes we fetched (never on a URL: its own HTTP has no timeout)."""

from __future__ import annotations

import calendar
import re
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timezone

import feedparser


@dataclass
class Entry:
    link: str
    title: str | None
    published: datetime | None
    summary: str | None        # plain text of the feed's summary/description
    content: str | None        # plain text of the feed's full content (content:encoded), if any


@dataclass
class ParsedFeed:
    entries: list[Entry] = field(default_factory=list)
    warning: str | None = None     # malformed but usable ("bozo" with entries)
    error_kind: str | None = None  # nothing usable
    error: str | None = None
    ttl_s: int | None = None
    version: str = ""

    @property
    def typical_interval_s(self) -> float | None:
        """Median gap between consecutive entry dates: the feed's publishing rhythm."""
        dates = sorted(e.published for e in self.entries if e.published)
        gaps = [(b - a).total_seconds() for a, b in zip(dates, dates[1:]) if b > a]
        return statistics.median(gaps) if gaps else None

    @property
    def newest_entry(self) -> datetime | None:
        dates = [e.published for e in self.entries if e.published]
        return max(dates) if dates else None


_TAG = re.compile(r"<[^>]+>")
_WS = re.compile(r"\s+")


def html_to_text(html: str | None) -> str | None:
    """Feed summaries are sanitised HTML; a plain-text fallback needs no markup."""
    if not html:
        return None
    import html as htmllib

    text = htmllib.unescape(_TAG.sub(" ", html))
    text = _WS.sub(" ", text).strip()
    return text or None


def _entry_date(entry) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)
            except (OverflowError, ValueError, TypeError):
                continue
    return None


def _ttl_seconds(feed) -> int | None:
    ttl = feed.get("ttl")
    try:
        minutes = int(str(ttl).strip())
    except (TypeError, ValueError):
        return None
    return minutes * 60 if 0 < minutes < 60 * 24 * 30 else None


def parse_feed(body: bytes, url: str, content_type: str = "") -> ParsedFeed:
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        d = feedparser.parse(body, response_headers=headers)
    except Exception as exc:  # feedparser promises not to raise; be safe anyway
        return ParsedFeed(error_kind="not_a_feed", error=f"{url}: the feed could not be parsed ({exc})")
    out = ParsedFeed(version=d.get("version", "") or "", ttl_s=_ttl_seconds(d.get("feed", {})))
    for e in d.entries:
        link = e.get("link") or ""
        if not link:
            links = [l.get("href") for l in e.get("links", []) if l.get("href")]
            link = links[0] if links else ""
        if not link:
            continue
        content = None
        if e.get("content"):
            content = html_to_text(" ".join(c.get("value", "") for c in e["content"]))
        out.entries.append(Entry(
            link=link.strip(),
            title=html_to_text(e.get("title")),
            published=_entry_date(e),
            summary=html_to_text(e.get("summary")),
            content=content,
        ))
    problem = d.get("bozo_exception")
    # A missing or odd Content-Type, or a charset override, says nothing about the feed itself.
    benign = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
    bozo = bool(d.get("bozo")) and not isinstance(problem, benign)
    if out.entries:
        if bozo and problem is not None:
            out.warning = f"malformed feed, {len(out.entries)} entries recovered: {_describe(problem)}"
        return out
    if out.version and not bozo:
        out.warning = f"{url} is a well-formed {out.version} feed with no entries"
        return out
    looks_html = b"<html" in body[:2048].lower()
    out.error_kind = "not_a_feed"
    if looks_html and not out.version:
        out.error = f"{url} is an HTML page, not a feed; find the page's RSS/Atom link"
    elif not body.strip():
        out.error_kind, out.error = "empty_feed", f"{url} answered with an empty body"
    else:
        out.error = f"{url}: nothing could be parsed from the feed ({_describe(problem) if problem else 'no RSS or Atom found'})"
    return out


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:300]

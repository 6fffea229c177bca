"""Feed parsing: feedparser on bytes we fetched (never on a URL: its own HTTP has no timeout)."""

from __future__ import annotations

import calendar
import re
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timezone

import feedparser


@dataclass
class FeedEntry:
    link: str
    title: str | None
    published: datetime | None
    summary: str | None        # plain text of the feed's summary/description
    content: str | None        # plain text of the feed's full content (content:encoded), if any


@dataclass
class ParsedFeed:
    entries: list[FeedEntry] = field(default_factory=list)
    warning: str | None = None     # malformed but usable ("bozo" with entries)
    error_kind: str | None = None  # nothing usable
    error: str | None = None
    ttl_s: int | None = None
    version: str = ""
    title: str | None = None       # the feed's own title

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


# A feed lists a few dozen entries; one that lists tens of thousands (a dump, a hostile or broken
# feed) would cost minutes of parsing and as many page fetches in one run. Only the first
# MAX_ENTRIES are read, with a warning; the rest are ignored (a later poll sees the newest ones).
MAX_ENTRIES = 1000

_TAG = re.compile(r"<[^>]+>")
_WS = re.compile(r"\s+")
# C0/C1 control characters and bidirectional overrides: they carry no text, and in a title they
# can rewrite an analyst's terminal (ANSI escapes) or disguise text (RTL override).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_ENTRY_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s>/]")
_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]*)")


def html_to_text(html: str | None) -> str | None:
    """Feed summaries are sanitised HTML; a plain-text fallback needs no markup."""
    if not html:
        return None
    import html as htmllib

    text = htmllib.unescape(_TAG.sub(" ", html))
    text = _WS.sub(" ", _CONTROL.sub("", text)).strip()
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


def cap_entries(body: bytes, limit: int = MAX_ENTRIES) -> tuple[bytes, bool]:
    """A feed with more than ``limit`` entries, cut before the first extra one and closed again
    (channel and root element), so the parser reads ``limit`` entries at most. (True if cut.)"""
    count = 0
    for m in _ENTRY_START.finditer(body):
        count += 1
        if count > limit:
            head = body[:m.start()]
            break
    else:
        return body, False
    tail = b""
    channel = re.search(rb"<((?:[A-Za-z_][\w.-]*:)?channel)[\s>]", head)
    if channel and not re.search(rb"</" + re.escape(channel.group(1)) + rb"\s*>", head):
        tail += b"</" + channel.group(1) + b">"
    root = _ROOT.search(head)
    if root:
        tail += b"</" + root.group(1) + b">"
    return head + tail, True


def parse_feed(body: bytes, url: str, content_type: str = "") -> ParsedFeed:
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    body, capped = cap_entries(body)
    try:
        d = feedparser.parse(body, response_headers=headers)
    except Exception as exc:  # feedparser promises not to raise; be safe anyway
        return ParsedFeed(error_kind="not_a_feed", error=f"{url}: the feed could not be parsed ({exc})")
    out = ParsedFeed(version=d.get("version", "") or "", ttl_s=_ttl_seconds(d.get("feed", {})),
                     title=html_to_text(d.get("feed", {}).get("title")))
    no_link = 0
    for e in d.entries:
        link = e.get("link") or ""
        if not link:
            links = [ln.get("href") for ln in e.get("links", []) if ln.get("href")]
            link = links[0] if links else ""
        if not link:
            no_link += 1
            continue
        content = None
        if e.get("content"):
            content = html_to_text(" ".join(c.get("value", "") for c in e["content"]))
        out.entries.append(FeedEntry(
            link=_CONTROL.sub("", link).strip(),
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
        if no_link:
            note = f"{no_link} entries without a link were skipped"
            out.warning = f"{out.warning}; {note}" if out.warning else note
        if capped:
            note = (f"the feed lists more than {MAX_ENTRIES:,} entries; only the first {MAX_ENTRIES:,} "
                    f"were read (flows.sources.parse.MAX_ENTRIES)")
            out.warning = f"{out.warning}; {note}" if out.warning else note
        return out
    if out.version and not bozo:
        if no_link:
            out.warning = f"{url}: the feed's {no_link} entries have no link; there is nothing to fetch"
        else:
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

"""Page cleaning with trafilatura, in a process pool.

trafilatura is CPU-bound and holds the GIL (threads give 1.04x, two processes 1.9x on this
machine), so pages are cleaned by worker processes. Workers are started with "forkserver" rather
than "fork": forking a process that runs Prefect's threads can deadlock.
"""

from __future__ import annotations

import codecs
import hashlib
import multiprocessing
import re
import unicodedata
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from extractors.pubdate import PubDate

MIN_TEXT_CHARS = 200          # shorter "articles" are page shells: use the feed's text instead
MAX_TREE_SIZE = 200_000       # lxml elements; bounds the size of trafilatura's output tree
# trafilatura's work grows with the square of the number of elements in a block (measured: 25,000
# <span>s in one paragraph take 5 s, 100,000 take 160 s), and MAX_TREE_SIZE is only checked after
# that work. A page with more start tags than this is refused before cleaning; real articles
# have a few thousand.
MAX_ELEMENTS = 20_000
_START_TAG = re.compile(r"<[A-Za-z]")

_CHARSET_HEADER = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_HTML_LANG = re.compile(rb"<html[^>]*\blang\s*=\s*[\"']?([A-Za-z]{2,3})", re.I)
_NON_HTML_TYPES = ("image/", "audio/", "video/", "application/pdf", "application/zip",
                   "application/octet-stream", "font/")


@dataclass
class CleanResult:
    text: str | None = None
    title: str | None = None
    author: str | None = None
    site_name: str | None = None
    language: str | None = None
    page_date: str | None = None   # YYYY-MM-DD as found in the page
    error_kind: str | None = None
    error: str | None = None
    # Set by clean_and_extract: the extractor's events for ``text``, with the publication day
    # they were resolved against (the store step re-extracts if its own day differs).
    events: list[dict] | None = None
    events_day: PubDate | None = None  # the publication date the events were extracted with


_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _bom_encoding(body: bytes) -> str | None:
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    return None


def decode_html(body: bytes, content_type: str = "") -> str:
    """A byte-order mark decides (as browsers do); else honour a charset the server declares when
    the bytes agree with it; otherwise detect."""
    bom = _bom_encoding(body)
    if bom:
        try:
            return body.decode(bom)
        except UnicodeDecodeError:
            pass
    m = _CHARSET_HEADER.search(content_type or "")
    if m:
        try:
            return body.decode(m.group(1), errors="strict")
        except (LookupError, UnicodeDecodeError):
            pass  # mislabelled or unknown charset: fall through to detection
    from trafilatura.utils import decode_file

    text = decode_file(body)
    return text if isinstance(text, str) else body.decode("utf-8", errors="replace")


def looks_binary(body: bytes) -> bool:
    head = body[:4096]
    if not head:
        return False
    if _bom_encoding(head) in ("utf-16", "utf-32"):
        return False  # text in a wide encoding: its NUL bytes are half of each character
    if head.count(b"\x00") > 0:
        return True
    # bytes.translate drops every byte that is not a control character, in C (a Python loop over
    # 4 KB cost 0.4 ms per page, 8 % of cleaning it).
    controls = len(head.translate(None, _NOT_CONTROL_BYTES))
    return controls / len(head) > 0.3


_NOT_CONTROL_BYTES = bytes(b for b in range(256) if not (b < 9 or 13 < b < 32))


def clean_page(body: bytes, url: str, content_type: str = "") -> CleanResult:
    """Clean one page. Never raises: a failure is a CleanResult with error_kind."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype.startswith(_NON_HTML_TYPES) or looks_binary(body):
        return CleanResult(error_kind="not_html",
                           error=f"{url} is not an HTML page ({ctype or 'binary content'})")
    try:
        import trafilatura

        html = decode_html(body, content_type)
        if html.count("<") > MAX_ELEMENTS:
            elements = sum(1 for _ in _START_TAG.finditer(html))
            if elements > MAX_ELEMENTS:
                return CleanResult(error_kind="too_large",
                                   error=f"{url}: the page has {elements:,} HTML elements, over the limit of "
                                         f"{MAX_ELEMENTS:,} (flows.pages.clean.MAX_ELEMENTS); it was not cleaned")
        doc = trafilatura.bare_extraction(
            html, url=url, with_metadata=True, include_comments=False, include_tables=False,
            config=_trafilatura_config(),
        )
    except Exception as exc:  # trafilatura/lxml on hostile markup: record, don't crash the batch
        return CleanResult(error_kind="empty_page", error=f"{url}: the page could not be cleaned ({type(exc).__name__}: {exc})")
    lang = _HTML_LANG.search(body[:4096])
    if doc is None:
        return CleanResult(error_kind="empty_page", error=f"{url}: no article text found in the page",
                           language=lang.group(1).decode().lower() if lang else None)
    d = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    text = normalise_text(d.get("text") or "")
    result = CleanResult(
        text=text or None, title=d.get("title"), author=d.get("author"), site_name=d.get("sitename"),
        language=(d.get("language") or (lang.group(1).decode().lower() if lang else None)),
        page_date=_month_only_date(html, d.get("date")),
    )
    if len(text) < MIN_TEXT_CHARS:
        result.error_kind = "empty_page"
        result.error = (f"{url}: the page has only {len(text)} characters of text "
                        f"(a script-only page or a stub)")
    return result


# The page's own publication meta; htmldate completes a month-only value with a day it makes up
# ("2025-06" came back as 2025-06-06): such a date is kept to the month.
_PUBLISHED_META = re.compile(
    r"""<meta\s[^>]*(?:property|name|itemprop)\s*=\s*["'](?:article:published_time|datePublished|date|dc\.date|"""
    r"""DC\.date\.issued|pubdate|publish-date|og:published_time)["'][^>]*>""", re.I)
_META_CONTENT = re.compile(r"""content\s*=\s*["']\s*(\d{4}-\d{2})\s*["']""", re.I)


def _month_only_date(html: str, page_date: str | None) -> str | None:
    if not page_date:
        return page_date
    head = html[:20000]
    for m in _PUBLISHED_META.finditer(head):
        c = _META_CONTENT.search(m.group(0))
        if c and page_date.startswith(c.group(1)):
            return c.group(1)
    return page_date


_CONFIG = None


def _trafilatura_config():
    """trafilatura's settings: bound the tree size of giant pages (documents past it are dropped)."""
    global _CONFIG
    if _CONFIG is None:
        from trafilatura.settings import use_config

        _CONFIG = use_config()
        _CONFIG.set("DEFAULT", "MAX_TREE_SIZE", str(MAX_TREE_SIZE))
    return _CONFIG


def clean_and_extract(body: bytes, url: str, content_type: str, feed_published: datetime | None) -> CleanResult:
    """Worker entry point of the ingest stream: clean the page, then run the extractor over its
    text with the publication day the store step will use. The extractor costs about as much CPU
    as storing a batch; done here it runs in the cleaning processes, in parallel, instead of in
    the flow's single thread, which was the bottleneck (profile of a 2,000-article run)."""
    result = clean_page(body, url, content_type)
    if result.text and result.error_kind is None:
        published, source, _ = choose_published(result.page_date, feed_published, datetime.now(timezone.utc))
        result.events_day = published_pubdate(published, published_precision(result.page_date, published, source))
        result.events = event_rows(result.text, result.events_day)
    return result


def clean_and_extract_many(pages: list[tuple]) -> list[CleanResult]:
    """``clean_and_extract`` for several pages in one job: one round trip to a worker process
    instead of one per page (see flows.pages.stream.ChunkedCleaner)."""
    return [clean_and_extract(*args) for args in pages]


def event_rows(text: str, day: PubDate | None) -> list[dict]:
    """The extractor's events for one article, as the event log takes them."""
    from extractors import extract

    return [dict(ev.to_dict(), evidence_start=ev.evidence_start, evidence_end=ev.evidence_end)
            for ev in extract(text, day)]


def normalise_text(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    # Control characters other than newlines and tabs carry nothing and break terminals. Most
    # texts have none: str.isprintable() (in C) proves that for all but spaces of other kinds,
    # and only texts it cannot clear take the per-character walk (0.35 ms per page).
    if not _PLAIN_SPACES.sub("", text).isprintable():
        text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    lines = [_BLANKS.sub(" ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


# Whitespace isprintable() rejects although it is not a control character (Z categories).
_PLAIN_SPACES = re.compile(r"[\n\t\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")
_BLANKS = re.compile(r"[ \t]+")


def content_fingerprint(text: str) -> str:
    """Same text under another URL (syndication) gives the same fingerprint."""
    canon = re.sub(r"\W+", " ", text.casefold()).strip()
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()[:16]


def choose_published(page_date: str | None, feed_date: datetime | None,
                     now: datetime) -> tuple[datetime | None, str | None, str | None]:
    """(published, source, warning). The page's own date wins, sharpened by the feed's timestamp on
    the same day; a date in the future is rejected with a warning. A page dated only to the month
    ("2025-06") gives the first of that month, unless the feed dates the item within that month
    (then the feed's day is the better date); ``published_pubdate`` says how precise it is."""
    limit = now + timedelta(days=1)
    warning = None
    page_dt = None
    if page_date and _MONTH_ONLY.match(page_date):
        y, m = int(page_date[:4]), int(page_date[5:7])
        if 1 <= m <= 12:
            if feed_date is not None and (feed_date.year, feed_date.month) == (y, m) and feed_date <= limit:
                return feed_date, "feed", None
            page_date = f"{y:04d}-{m:02d}-01"
    if page_date:
        try:
            d = date.fromisoformat(page_date[:10])
            page_dt = datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
        except ValueError:
            page_dt = None
        if page_dt is not None and page_dt > limit:
            warning, page_dt = f"page date {page_date} is in the future; ignored", None
    if feed_date is not None and feed_date > limit:
        warning, feed_date = f"feed date {feed_date:%Y-%m-%d} is in the future; ignored", None
    if page_dt is not None:
        if feed_date is not None and feed_date.date() == page_dt.date():
            return feed_date, "page", warning
        return page_dt, "page", warning
    if feed_date is not None:
        return feed_date, "feed", warning
    return None, None, warning


_MONTH_ONLY = re.compile(r"^\d{4}-\d{2}$")


def published_precision(page_date: str | None, published: datetime | None, source: str | None) -> str | None:
    """'day', 'month' (the page gave only a month and the feed did not sharpen it) or None."""
    if published is None:
        return None
    if source == "page" and page_date and _MONTH_ONLY.match(page_date):
        return "month"
    return "day"


def published_pubdate(published: datetime | None, precision: str | None) -> PubDate | None:
    """The extractor's publication date for a stored article: to the day, to the month, or none."""
    from extractors.pubdate import PubDate

    if published is None:
        return None
    if precision == "month":
        return PubDate(published.year, published.month)
    return PubDate(published.year, published.month, published.day)


class CleanerPool:
    """A process pool for the life of one flow run; ``workers=1`` cleans in one thread of this
    process instead (no process to start for a single page)."""

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self._pool: Executor | None = None

    def __enter__(self) -> CleanerPool:
        if self.workers > 1:
            ctx = multiprocessing.get_context("forkserver")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx)
        else:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="defwatch-clean")
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def submit(self, fn, *args) -> Future:
        """Run ``fn(*args)`` (``clean_page`` or ``clean_and_extract``) in a worker."""
        if self._pool is None:
            raise RuntimeError("CleanerPool.submit outside `with CleanerPool(...)`")
        return self._pool.submit(fn, *args)

"""The ingestion stages as plain functions: poll feeds, plan articles, fetch pages, build rows.

Prefect tasks in ``flows.ingest`` wrap these; tests and benchmarks can call them directly.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flows.runtime import progress
from flows.pages.planned import PlannedArticle
from flows.pages.clean import CleanResult, choose_published, content_fingerprint, published_precision
from flows.sources.feedstate import next_state
from flows.sources.fetch import FetchRequest, FetchResult, run_fetches
from flows.sources.parse import ParsedFeed, parse_feed
from flows.sources.registry import FeedDef
from flows.settings import Settings
from flows.sources.urls import article_id, canonical_url, same_origin


@dataclass
class FeedPoll:
    feed: FeedDef
    result: FetchResult
    parsed: ParsedFeed | None
    state: dict[str, Any]

    @property
    def error(self) -> tuple[str, str] | None:
        if self.state["last_outcome"] == "error":
            return self.state["last_error_kind"], self.state["last_error"]
        return None


def poll_feeds(feeds: Sequence[FeedDef], states: dict[str, dict], settings: Settings, now: datetime,
               rng: random.Random | None = None) -> tuple[list[FeedPoll], int]:
    """Fetch (conditionally) and parse each feed; return polls and the number of HTTP requests."""
    reqs = []
    for f in feeds:
        st = states.get(f.name) or {}
        # A feed's own address is guarded like any link unless the operator marked it trusted.
        reqs.append(FetchRequest(url=f.url, key=f.name, etag=st.get("etag"),
                                 last_modified=st.get("last_modified"), trusted=f.trusted))
    progress.start("feeds", len(reqs))
    parsed_by_name: dict[str, ParsedFeed] = {}

    by_name = {f.name: f for f in feeds}
    indexes: dict[str, list[tuple[str, datetime | None]]] = {}

    def arrived(res: FetchResult) -> None:
        # Parsed as it arrives, while the other feeds are still on their way (as a plain script
        # would): parsing all of them after the last one came back added its whole time to the run.
        if res.ok:
            feed = by_name[res.request.key]
            parsed_by_name[feed.name], children = parse_source(feed, res, settings.fetch.max_bytes)
            if children:
                indexes[feed.name] = children
            res.body = b""
        progress.advance("feeds")

    results, n_requests = run_fetches(settings.fetch, reqs, on_done=arrived)
    if indexes:
        n_requests += read_child_sitemaps(indexes, by_name, states, parsed_by_name, settings)
    polls = []
    for res in results:
        feed = by_name[res.request.key]
        parsed = parsed_by_name.get(feed.name)
        state = next_state(feed.name, states.get(feed.name), res, parsed, now, settings.schedule, rng)
        polls.append(FeedPoll(feed=feed, result=res, parsed=parsed, state=state))
    return polls, n_requests


def parse_source(feed: FeedDef, res: FetchResult, max_bytes: int) -> tuple[ParsedFeed, list]:
    """The fetched body of a source read as its kind says: a feed, a sitemap (an index's child
    sitemaps returned too), or a listing page. Every kind yields the same entries downstream."""
    if feed.kind == "sitemap":
        from flows.sources.sitemap import newest_first, parse_sitemap

        sp = parse_sitemap(res.body, res.final_url, max_bytes)
        return (sp.parsed if sp.children or sp.parsed.error_kind else newest_first(sp.parsed)), sp.children
    if feed.kind == "page":
        from flows.sources.listing import parse_listing

        return parse_listing(res.body, res.final_url, feed.selector), []
    return parse_feed(res.body, res.final_url, res.content_type), []


def read_child_sitemaps(indexes: dict[str, list], by_name: dict[str, FeedDef], states: dict[str, dict],
                        parsed_by_name: dict[str, ParsedFeed], settings: Settings) -> int:
    """Fetch the changed child sitemaps of each sitemap index (through the same fetcher, limits and
    guard; trust only for the source's own origin) and gather their entries under the index's
    source. A child that fails is a warning on the source; returns the number of requests."""
    from flows.sources.sitemap import changed_children, newest_first, parse_sitemap

    reqs = []
    for name, children in indexes.items():
        feed = by_name[name]
        last_success = (states.get(name) or {}).get("last_success_at")
        for loc in changed_children(children, last_success):
            reqs.append(FetchRequest(url=loc, key=name, trusted=feed.trusted and same_origin(loc, feed.url)))
    results, n = run_fetches(settings.fetch, reqs)
    problems: dict[str, list[str]] = {}
    for res in results:
        name = res.request.key
        sp = parse_sitemap(res.body, res.final_url, settings.fetch.max_bytes) if res.ok else None
        if sp is None or sp.parsed.error_kind or sp.children:
            why = (res.error or f"HTTP {res.status}") if sp is None else (sp.parsed.error or "a nested sitemap index")
            problems.setdefault(name, []).append(f"{res.request.url}: {why}")
            continue
        parsed_by_name[name].entries.extend(sp.parsed.entries)
    for name in indexes:
        parsed = newest_first(parsed_by_name[name])
        if not parsed.entries and parsed.warning == "the sitemap lists no URLs":
            parsed.warning = None  # an index none of whose sitemaps changed: nothing new, nothing wrong
        if problems.get(name):
            note = f"{len(problems[name])} child sitemaps failed ({'; '.join(problems[name][:3])})"
            parsed.warning = note if parsed.warning in (None, "the sitemap lists no URLs") else f"{parsed.warning}; {note}"
    return n


# The demo server listens on a random port; its articles are identified under this stable origin
# so that a second demo run recognises them.
DEMO_ORIGIN = "http://samples.defwatch.invalid"


def plan_articles(polls: Sequence[FeedPoll], base_url: str | None = None) -> list[PlannedArticle]:
    """One candidate per canonical URL, in feed order; later feeds listing it are noted in also_in."""
    out: dict[str, PlannedArticle] = {}
    base = base_url.rstrip("/") if base_url else None
    for poll in polls:
        if poll.parsed is None:
            continue
        for entry in poll.parsed.entries:
            link = entry.link
            if base and link.startswith(base + "/"):
                link = DEMO_ORIGIN + link[len(base):]
            canon = canonical_url(link)
            aid = article_id(canon)
            if aid in out:
                if poll.feed.name != out[aid].feed_name and poll.feed.name not in out[aid].also_in:
                    out[aid].also_in.append(poll.feed.name)
                continue
            # Trust covers the feed's own scheme, host and port: other links are guarded like any.
            own_origin = same_origin(entry.link, poll.feed.url)
            out[aid] = PlannedArticle(article_id=aid, url=canon, original_url=entry.link,
                                 feed_name=poll.feed.name, trusted=poll.feed.trusted and own_origin, entry=entry)
    return interleave_hosts(list(out.values()))


def interleave_hosts(cands: list[PlannedArticle]) -> list[PlannedArticle]:
    """Round-robin over sites: a batch then spreads over many hosts instead of queueing on one
    host's per-host limit (measured 3x faster page fetching in benchmarks/fetch_order.py)."""
    from collections import OrderedDict

    queues: OrderedDict[str, list[PlannedArticle]] = OrderedDict()
    for c in cands:
        queues.setdefault((urlsplit(c.original_url).hostname or "").lower(), []).append(c)
    out: list[PlannedArticle] = []
    while queues:
        for host in list(queues):
            out.append(queues[host].pop(0))
            if not queues[host]:
                del queues[host]
    return out


def fetch_pages(cands: Sequence[PlannedArticle], settings: Settings) -> tuple[list[FetchResult], int]:
    reqs = [FetchRequest(url=c.original_url, key=c.article_id, trusted=c.trusted) for c in cands]
    return run_fetches(settings.fetch, reqs, on_done=lambda _: progress.advance("pages"))


MIN_FEED_CONTENT_CHARS = 80  # shorter content:encoded is a teaser: the summary is as good


def choose_text(cand: PlannedArticle, res: FetchResult, clean: CleanResult | None) -> tuple[str | None, str | None]:
    """(text, text_source): the page's text, else the feed's full content, else its summary."""
    if res.ok and clean is not None and clean.error_kind is None and clean.text:
        return clean.text, "page"
    if cand.entry.content and len(cand.entry.content) >= MIN_FEED_CONTENT_CHARS:
        return cand.entry.content, "feed_content"
    if cand.entry.summary:
        return cand.entry.summary, "feed_summary"
    return None, None


def build_rows(
    cands: Sequence[PlannedArticle],
    fetched: Sequence[FetchResult],
    cleaned: Sequence[CleanResult | None],
    first_copy: dict[str, str],
    run_id: str,
    now: datetime,
    fingerprints: dict[str, str] | None = None,
) -> tuple[list[dict], list[dict], dict[str, int]]:
    """Article rows, error rows and counters for one batch.

    Text comes from the page; where the page failed or had no text, from the feed's full content,
    else its summary (``text_source`` says which). A candidate with no text at all is not stored:
    its error is recorded and the next run tries it again.
    ``first_copy`` maps content fingerprints already stored to their article; it is updated here so
    copies within the batch link to the first of them. ``fingerprints`` (article id -> fingerprint
    of its chosen text) saves computing them again where the caller already did.
    """
    rows: list[dict] = []
    errors: list[dict] = []
    counts = {"pages_fetched": 0, "pages_failed": 0, "articles_new": 0, "duplicates": 0, "fallbacks": 0}
    for cand, res, clean in zip(cands, fetched, cleaned):
        page_error: str | None = None
        meta = CleanResult()
        if res.ok and clean is not None:
            counts["pages_fetched"] += 1
            meta = clean
            if clean.error_kind is not None:
                page_error = clean.error
                errors.append(_err(run_id, cand.url, clean.error_kind, clean.error, now))
        else:
            counts["pages_failed"] += 1
            kind = res.error_kind or "http_4xx"
            page_error = res.error or f"{res.final_url} answered HTTP {res.status}"
            errors.append(_err(run_id, cand.url, kind, page_error, now))
        text, text_source = choose_text(cand, res, clean)
        if text_source not in (None, "page"):
            counts["fallbacks"] += 1
        if text is None:
            continue  # nothing to store; error recorded, retried next run
        published, pub_source, warning = choose_published(meta.page_date, cand.entry.published, now)
        if warning:
            errors.append(_err(run_id, cand.url, "future_date", f"{cand.url}: {warning}", now))
        fingerprint = (fingerprints or {}).get(cand.article_id) or content_fingerprint(text)
        duplicate_of = first_copy.get(fingerprint)
        if duplicate_of is None:
            first_copy[fingerprint] = cand.article_id
        else:
            counts["duplicates"] += 1
        counts["articles_new"] += 1
        rows.append({
            "article_id": cand.article_id, "url": cand.url, "original_url": cand.original_url,
            "final_url": res.final_url, "feed_name": cand.feed_name,
            "title": meta.title or cand.entry.title, "author": meta.author, "site_name": meta.site_name,
            "language": meta.language, "published": published, "published_source": pub_source,
            "published_precision": published_precision(meta.page_date, published, pub_source),
            "text": None if duplicate_of else text, "text_source": text_source,
            "content_hash": fingerprint, "duplicate_of": duplicate_of, "http_status": res.status,
            "fetch_error": page_error, "fetched_at": now, "run_id": run_id,
        })
    return rows, errors, counts


def _err(run_id: str, subject: str, kind: str, message: str | None, now: datetime) -> dict:
    return {"run_id": run_id, "scope": "article", "subject": subject, "kind": kind,
            "message": message, "occurred_at": now}


def feed_error_rows(polls: Sequence[FeedPoll], run_id: str, now: datetime) -> list[dict]:
    rows = []
    for p in polls:
        if p.error:
            kind, message = p.error
            rows.append({"run_id": run_id, "scope": "feed", "subject": p.feed.name, "kind": kind,
                         "message": message, "occurred_at": now})
        elif p.state.get("last_warning"):
            rows.append({"run_id": run_id, "scope": "feed", "subject": p.feed.name, "kind": "warning",
                         "message": p.state["last_warning"], "occurred_at": now})
    return rows

"""The ``ingest`` Prefect flow: feeds -> pages -> clean text -> events -> DuckDB, in batches.

Tasks work on whole batches: one task polls every due feed; pages are then fetched and cleaned
as one stream (``flows.pages.stream``: the network and the cleaning processes never wait for a batch
boundary), and one task per batch of articles stores it, with its events and alerts, in one
transaction. A Prefect task run costs 5-70 ms here, more than cleaning an article, so one task
per article would cost more than the work itself. The run keeps one database connection
(``HeldWriter``) while batches are ready one after another, and lends it to any other process
that asks between two batches. It never holds the file across a wait for the network or the
cleaners: DuckDB's read-write holder blocks every other process, readers included, so the
connection is closed (without a checkpoint) before feeds are polled and whenever the next batch is
not ready yet (``_release_while_waiting``).
"""

from __future__ import annotations

import flows.runtime.prefect_env  # noqa: F401  (must precede the prefect import)

import contextlib
import time
from collections.abc import Iterator
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from flows import headstart, pipeline
from flows.runtime import progress
from flows.pages.clean import CleanerPool
from flows.pages.planned import PlannedArticle
from flows.pages.stream import Page, PageStream
from flows.sources.feedstate import is_due
from flows.sources.registry import FeedDef, load_feeds
from flows.runtime.runlock import run_lock
from flows.settings import Settings, load_settings
from extractors import RULESET_VERSION
from flows.alerts import delivery, routing
from flows.alerts.notify import notify_urls
from warehouse import alerts as walerts
from warehouse import eventlog, store
from flows.pages.clean import CleanResult, content_fingerprint, event_rows, published_pubdate
from flows.runtime.faults import checkpoint
from warehouse.db import DatabaseBusyError, HeldWriter, transaction

_writer: HeldWriter | None = None  # the flow run's database connection, shared by its tasks


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _retry_transient(task, task_run, state) -> bool:
    """Retry a task only for errors that can pass: the database briefly held by a reader."""
    try:
        state.result()
    except DatabaseBusyError:
        return True
    except Exception:
        return False
    return False


@task(name="poll-feeds", cache_policy=NO_CACHE)
def poll_feeds_task(feeds: list[FeedDef], states: dict, settings: Settings, now: datetime,
                    intake: headstart.Intake | None = None):
    """Poll the due feeds; with an ``intake`` (the CLI's head start), report the polls it made."""
    log = get_run_logger()
    if intake is not None:
        polls, n_requests = intake.polls, intake.requests
        log.info("the %d due feeds were polled in %.1f s before this flow run began, while Prefect's server "
                 "started (flows.headstart)", len(polls), intake.polled_in_s)
    else:
        polls, n_requests = pipeline.poll_feeds(feeds, states, settings, now)
    for p in polls:
        if p.error:
            log.warning("feed %s failed (%s): %s; next attempt %s", p.feed.name, p.error[0], p.error[1],
                        f"{p.state['next_attempt_at']:%Y-%m-%d %H:%M} UTC")
        elif p.state.get("last_warning"):
            log.warning("feed %s: %s", p.feed.name, p.state["last_warning"])
    ok = sum(1 for p in polls if p.state["last_outcome"] == "ok")
    nm = sum(1 for p in polls if p.state["last_outcome"] == "not_modified")
    log.info("polled %d feeds with %d requests: %d new content, %d not modified, %d failed",
             len(polls), n_requests, ok, nm, len(polls) - ok - nm)
    return polls


@task(name="store-articles", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[1, 3, 10],
      retry_condition_fn=_retry_transient)
def store_batch_task(db: str, pages: list[Page], run_id: str, alert_settings=None, chans=None,
                     mark_seen: bool = False):
    now = _now()
    cands = [p.cand for p in pages]
    fetched = [p.fetched for p in pages]
    cleaned = [p.cleaned for p in pages]
    with _run_writer(db) as writer, writer.connection() as con:
        texts = {c.article_id: pipeline.choose_text(c, r, cl)[0] for c, r, cl in zip(cands, fetched, cleaned)}
        prints = {aid: content_fingerprint(t) for aid, t in texts.items() if t}
        first_copy = store.first_copies(con, sorted(set(prints.values())))
        rows, errors, counts = pipeline.build_rows(cands, fetched, cleaned, first_copy, run_id, now, prints)
        stored_ids = {r["article_id"] for r in rows}
        sightings = [{"article_id": c.article_id, "feed_name": f, "first_seen": now}
                     for c in cands if c.article_id in stored_ids for f in [c.feed_name, *c.also_in]]
        extractions = extract_rows(rows, {p.cand.article_id: p.cleaned for p in pages})
        with transaction(con):
            added = store.bulk_insert(con, "articles", rows, store.ARTICLE_COLUMNS)
            store.record_sightings(con, sightings)
            store.record_errors(con, errors)
            applied = eventlog.apply_extractions(con, extractions, RULESET_VERSION, now, cause="ingest")
            if chans is not None:
                # The outbox: alerts commit with the event changes that caused them, or not at all.
                new_alerts, deliveries = routing.alerts_for_changes(
                    applied.changes, alert_settings, chans, run_id, now, mark_seen)
                counts["alerts_new"] = walerts.insert_alerts(con, new_alerts, deliveries)
                walerts.release_holds(con, now)  # alerts waiting for corroboration this batch brought
            counts["articles_new"] = added
            counts["events_new"] = applied.events_created
            counts["mentions_new"] = applied.mentions_added
            store.add_run_counts(con, run_id, counts)
            checkpoint("in-store-transaction")
    checkpoint("after-store")
    progress.advance("store", len(cands))
    return counts


def extract_rows(rows: list[dict], done: dict[str, CleanResult | None] | None = None
                 ) -> list[eventlog.ArticleExtraction]:
    """The extractor's events for the batch's new texts (syndicated copies carry no text: the
    first copy already reported its events). ``done`` maps article ids to their cleaning result:
    where the cleaning worker already extracted the same text for the same day, that is reused."""
    out = []
    for row in rows:
        if not row.get("text"):
            continue
        day = published_pubdate(row.get("published"), row.get("published_precision"))
        pre = (done or {}).get(row["article_id"])
        if (pre is not None and pre.events is not None and row.get("text_source") == "page"
                and pre.events_day == day):
            events = pre.events
        else:
            events = event_rows(row["text"], day)
        out.append(eventlog.ArticleExtraction(row["article_id"], row.get("published"), events))
    return out


def watch_summits(db: str, alert_settings, chans, run_id: str) -> int:
    """Alerts for summits coming up or overdue; returns how many deliveries are now due.

    Not a Prefect task: it is one query and one small insert, and a task run costs more than
    that (~80 ms of CPU between client and server; the tail of a 304-only run)."""
    now = _now()
    with _run_writer(db) as writer, writer.connection() as con, transaction(con):
        new_alerts, deliveries = routing.summit_watch(walerts.watched_summits(con), alert_settings, chans, run_id, now)
        n = walerts.insert_alerts(con, new_alerts, deliveries)
        walerts.release_holds(con, now)  # and those whose window has passed, once a run
        store.add_run_counts(con, run_id, {"alerts_new": n})
        return walerts.count_due(con, now)


@task(name="deliver-alerts", cache_policy=NO_CACHE)
def deliver_due_alerts_task(db: str, alert_settings, chans, run_id: str) -> dict:
    return deliver_due_alerts(db, alert_settings, chans, run_id)


def deliver_due_alerts(db: str, alert_settings, chans, run_id: str) -> dict:
    """Send the due alerts (the outbox) and count the results on the run. Called as a plain
    function while pages stream in (a task run costs ~75 ms of CPU, client and server), and as
    the deliver-alerts task at the end of the run."""
    log = get_run_logger()
    with _run_writer(db) as writer:
        report = delivery.deliver(Path(db), chans, alert_settings, _now(), log, writer)
        with writer.connection() as con:
            store.add_run_counts(con, run_id, {"alerts_sent": report.sent, "alerts_failed": report.failed})
    if report.sent or report.failed:
        log.info("alerts: %d delivered, %d failed (kept pending, retried with backoff)", report.sent, report.failed)
    if report.waiting:
        log.info("%d alerts wait for a --notify channel of an earlier run; pass the same --notify URL to send them",
                 report.waiting)
    return {"sent": report.sent, "failed": report.failed, "waiting": report.waiting}


@contextlib.contextmanager
def _run_writer(db: str) -> Iterator[HeldWriter]:
    """The run's held connection; a task called outside a run gets one of its own, released after."""
    if _writer is not None:
        yield _writer
        return
    with HeldWriter(db) as own:
        yield own


@flow(name="ingest", log_prints=False, validate_parameters=False)
def ingest_flow(
    db: str = "defwatch.duckdb",
    feeds_file: str = "feeds.toml",
    base_url: str | None = None,
    force: bool = False,
    settings_overrides: dict[str, Any] | None = None,
    lock_wait_s: float = 0.0,
    mark_seen: bool = False,
) -> dict[str, Any]:
    """Poll every due feed, store new articles, and record the run. Returns the run row.

    Only one ingest runs per database: another one waits ``lock_wait_s`` for it, then gives up
    with a clear message (nothing is written by the run that gave up)."""
    log = get_run_logger()
    settings = load_settings(db=db, feeds_file=feeds_file, **(settings_overrides or {}))
    feeds = [f for f in load_feeds(Path(feeds_file), base_url=base_url) if f.enabled]
    db_path = Path(db)
    from prefect.runtime import flow_run

    # --notify URLs are handed over in memory (flows.alerts.notify), never as flow parameters:
    # Prefect stores parameters (and shows them in its UI), and apprise URLs often carry tokens.
    chans = routing.Channels.build(settings.alerts, notify_urls())
    run_id = uuid.uuid4().hex[:12]
    with run_lock(db_path, wait_s=lock_wait_s):
        # The CLI's head start for this run, if it began one: feeds already polled, pages on their way.
        intake = headstart.take(db, feeds_file, base_url, force, log)
        return _ingest(log, settings, feeds, db_path, run_id, flow_run.get_id(), force, base_url, chans, mark_seen,
                       intake)


def _ingest(log, settings: Settings, feeds: list[FeedDef], db: Path, run_id: str,
            flow_run_id: str | None, force: bool, base_url: str | None = None,
            chans: routing.Channels | None = None, mark_seen: bool = False,
            intake: headstart.Intake | None = None) -> dict[str, Any]:
    global _writer
    with HeldWriter(db) as writer:
        _writer = writer
        try:
            return _ingest_with(writer, log, settings, feeds, db, run_id, flow_run_id, force, base_url, chans,
                                mark_seen, intake)
        finally:
            _writer = None


def _ingest_with(writer: HeldWriter, log, settings: Settings, feeds: list[FeedDef], db: Path, run_id: str,
                 flow_run_id: str | None, force: bool, base_url: str | None,
                 chans: routing.Channels | None, mark_seen: bool, intake: headstart.Intake | None) -> dict[str, Any]:
    now = intake.now if intake is not None else _now()
    with writer.connection() as con, transaction(con):
        # A run that was killed left its row 'running'; the run lock proves it is not running now.
        if settings.shard is None:  # other shards' runs may be running right now
            store.abandon_running_runs(con)
        store.sync_feeds(con, [f.as_row() for f in feeds], now, settings.shard)
        states = store.load_feed_states(con)
        first_run = not store.has_completed_run(con)
        store.start_run(con, run_id, flow_run_id, now)
    mark_seen = mark_seen or (settings.alerts.mark_backfill_seen and first_run)
    if mark_seen:
        log.info("alerts of this run are recorded as seen and not sent (backfill)")
    if intake is not None:
        states, due = intake.states, intake.due  # read under the same run lock: what the flow would read
    else:
        due = [f for f in feeds if force or is_due(states.get(f.name), now)]
    log.info("run %s: %d feeds enabled, %d due", run_id, len(feeds), len(due))

    writer.release(checkpoint=False)  # polling feeds is a network wait: the file is free for readers meanwhile
    polls = poll_feeds_task(quote(due), quote(states), settings, now, quote(intake)) if due else []
    cands = intake.cands if intake is not None else pipeline.plan_articles(polls, base_url)
    # A feed's validators (ETag, Last-Modified) are committed only once all its new articles are
    # stored: a run killed before that must get the entries again next time, not a 304.
    with writer.connection() as con, transaction(con):
        known = intake.known if intake is not None else store.known_article_ids(con, [c.article_id for c in cands])
        # Nothing new to store (e.g. every feed answered 304): the validators can go in right away.
        settled = all(c.article_id in known for c in cands)
        store.save_feed_states(con, [p.state if settled else _without_new_validators(p, states) for p in polls])
        store.record_errors(con, pipeline.feed_error_rows(polls, run_id, now))
        # Known articles seen through a new feed: remember the sighting, fetch nothing.
        store.record_sightings(con, [
            {"article_id": c.article_id, "feed_name": f, "first_seen": now}
            for c in cands if c.article_id in known for f in [c.feed_name, *c.also_in]
        ])
        store.add_run_counts(con, run_id, {
            "feeds_total": len(feeds), "feeds_due": len(due),
            "feeds_ok": sum(1 for p in polls if p.state["last_outcome"] == "ok"),
            "feeds_not_modified": sum(1 for p in polls if p.state["last_outcome"] == "not_modified"),
            "feeds_failed": sum(1 for p in polls if p.state["last_outcome"] == "error"),
            "entries_seen": sum(len(p.parsed.entries) for p in polls if p.parsed),
            "articles_known": len(known),
        })
    checkpoint("after-feed-state")
    new = [c for c in cands if c.article_id not in known]
    log.info("%d entries, %d already stored, %d new articles to fetch", len(cands), len(known), len(new))

    status, message = "completed", None
    try:
        if new:
            _store_articles(str(db), new, settings, run_id, chans, mark_seen, intake)
        if not settled:
            with writer.connection() as con, transaction(con):
                _commit_validators(con, polls, cands)
        if chans is not None:
            due_deliveries = watch_summits(str(db), settings.alerts, chans, run_id)
            checkpoint("before-delivery")
            # ingest-fanout delivers once, after all shards; a run with nothing due skips the task.
            if due_deliveries and settings.shard is None:
                deliver_due_alerts_task(str(db), settings.alerts, chans, run_id)
            checkpoint("after-delivery")
    except BaseException as exc:
        status, message = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        with writer.connection() as con:
            store.finish_run(con, run_id, status, _now(), message)
            summary = store.get_run(con, run_id)
        writer.release()
    log.info("run %s %s: %d new articles, %d known skipped, %d errors", run_id, status,
             summary.get("articles_new", 0), summary.get("articles_known", 0), summary.get("errors", 0))
    return summary


def _store_articles(db: str, new: list[PlannedArticle], settings: Settings, run_id: str,
                    chans: routing.Channels | None, mark_seen: bool, intake: headstart.Intake | None = None) -> None:
    """Fetch and clean the new articles as one stream (flows.pages.stream) and store them batch by batch,
    each batch in one transaction, while the following pages are fetched and cleaned. With an
    ``intake`` whose stream is already running (the CLI's head start), that stream is used."""
    if intake is not None and intake.stream is not None and intake.pool is not None and intake.new == new:
        with contextlib.ExitStack() as started:  # entered by the head start; closed here, stream first
            started.callback(intake.pool.__exit__, None, None, None)
            started.callback(intake.stream.__exit__, None, None, None)
            _store_stream(db, new, settings, run_id, chans, mark_seen, intake.stream)
        return
    for stage in ("pages", "clean", "store"):
        progress.start(stage, len(new))
    workers = settings.cleaning_workers if len(new) > 1 else 1
    with CleanerPool(workers) as pool, PageStream(new, settings.fetch, pool, settings.batch_size) as stream:
        _store_stream(db, new, settings, run_id, chans, mark_seen, stream)


def _store_stream(db: str, new: list[PlannedArticle], settings: Settings, run_id: str,
                  chans: routing.Channels | None, mark_seen: bool, stream: PageStream) -> None:
    waiting = storing = delivering = 0.0  # where the flow's time goes
    # Alerts committed by a stored batch go out while the flow would otherwise wait for pages,
    # not all at the end of the run: users hear of a new pact sooner, and delivery (1.3-1.7 s for
    # 1,700 alerts) no longer lengthens the run. The end of the run delivers whatever is left.
    deliver_early = chans is not None and not mark_seen and settings.shard is None
    undelivered = 0
    mark = time.monotonic()
    batches = stream.batches()
    while True:
        _release_while_waiting(stream)
        pages = next(batches, None)
        if pages is None:
            break
        got = time.monotonic()
        checkpoint("after-page-fetch")
        checkpoint("after-clean")
        # quote(): Prefect would otherwise walk every object of the batch to find futures in
        # it (profile: 4.8 s of CPU per 2,000 articles, the cost of storing them).
        counts = store_batch_task(db, quote(pages), run_id, settings.alerts, chans, mark_seen)
        undelivered += counts.get("alerts_new", 0) if deliver_early else 0
        stored = time.monotonic()
        if undelivered and not stream.next_batch_ready():
            deliver_due_alerts(db, settings.alerts, chans, run_id)
            undelivered = 0
        waiting, storing = waiting + (got - mark), storing + (stored - got)
        delivering, mark = delivering + (time.monotonic() - stored), time.monotonic()
    get_run_logger().info("%d articles fetched and cleaned with %d requests; the flow waited %.1f s for pages, "
                          "spent %.1f s storing and %.1f s delivering alerts", len(new), stream.requests_made,
                          waiting, storing, delivering)


def _release_while_waiting(stream: PageStream) -> None:
    """Close the run's connection if the flow is about to wait for pages (fetched or cleaned):
    a query started meanwhile gets the file at once instead of waiting for the next batch. When
    the next batch is already there, the connection stays open (reopening costs a checkpoint,
    0.2-0.3 s of CPU) and a waiting reader is let in by the handover before the batch's write.
    Closed without a checkpoint: the batches stay in the write-ahead log (``HeldWriter.release``)."""
    if _writer is not None and not stream.next_batch_ready():
        _writer.release(checkpoint=False)


def _without_new_validators(poll: pipeline.FeedPoll, states: dict) -> dict:
    """The feed's new state, but with the validators it had before this run, and its last good
    poll too: a sitemap index reads only the child sitemaps changed since then (flows.sources.sitemap)."""
    prev = states.get(poll.feed.name) or {}
    return dict(poll.state, etag=prev.get("etag"), last_modified=prev.get("last_modified"),
                last_success_at=prev.get("last_success_at"))


def _commit_validators(con, polls: list, cands: list) -> None:
    """Save the new validators of each feed whose every entry is now stored (an entry that found
    no text at all stays unstored: its feed keeps the old validators, so the next run sees it)."""
    stored = store.known_article_ids(con, [c.article_id for c in cands])
    incomplete = {f for c in cands if c.article_id not in stored for f in [c.feed_name, *c.also_in]}
    store.save_feed_states(con, [p.state for p in polls if p.feed.name not in incomplete])

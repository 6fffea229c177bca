"""The part of an ``ingest`` run that needs no Prefect, begun by the CLI while Prefect starts.

A one-off ``defwatch ingest`` on the embedded default waits 3-4 s for Prefect's server, and the
flow run cannot begin before it answers. Meanwhile a ``HeadStart`` polls the due feeds, works out
which entries are new, and starts fetching and cleaning them (``flows.pages.stream``), in a
thread of its own. The ingest flow then takes it over (``take``): its poll task reports the polls
already made, and its store tasks take the pages already fetched and cleaned. Nothing is written
before the flow runs: the head start only reads the database (feed states, known articles), under
the run lock the CLI holds, so what it read is what the flow would read. If anything in it fails,
the flow does everything itself, as it does for runs that ``defwatch serve`` schedules.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flows.pages.clean import CleanerPool
from flows.pages.planned import PlannedArticle
from flows.pages.stream import PageStream
from flows.pipeline import FeedPoll, plan_articles, poll_feeds
from flows.runtime import progress
from flows.settings import Settings, load_settings
from flows.sources.feedstate import is_due
from flows.sources.registry import FeedDef, load_feeds


@dataclass
class Intake:
    """What the head start found: the due feeds' polls, and the new articles being fetched."""

    now: datetime
    states: dict[str, dict]
    due: list[FeedDef]
    polls: list[FeedPoll]
    requests: int
    cands: list[PlannedArticle]
    known: set[str]
    new: list[PlannedArticle]
    polled_in_s: float
    pool: CleanerPool | None = None
    stream: PageStream | None = None
    started_at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class _Key:
    db: str
    feeds_file: str
    base_url: str | None
    force: bool


_waiting: dict[_Key, HeadStart] = {}


class HeadStart:
    """``with HeadStart(db, feeds_file, base_url, force, overrides): flow(...)``: begun on entering,
    offered to the flow with the same arguments, closed on leaving if the flow did not take it."""

    def __init__(self, db: Path, feeds_file: Path, base_url: str | None, force: bool,
                 overrides: dict[str, Any] | None = None):
        self.key = _Key(str(db), str(feeds_file), base_url, force)
        self.overrides = overrides or {}
        self.intake: Intake | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="defwatch-headstart", daemon=True)

    def __enter__(self) -> HeadStart:
        _waiting[self.key] = self
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        _waiting.pop(self.key, None)
        self._thread.join()
        self._close()  # the flow closes what it took; this closes what it did not get to

    def _run(self) -> None:
        try:
            self.intake = self._start()
        except BaseException as exc:  # noqa: BLE001 - the flow then does it all itself
            self.error = exc

    def _start(self) -> Intake:
        t0 = time.monotonic()
        settings: Settings = load_settings(db=self.key.db, feeds_file=self.key.feeds_file, **self.overrides)
        feeds = [f for f in load_feeds(Path(self.key.feeds_file), base_url=self.key.base_url) if f.enabled]
        states = _read(Path(self.key.db), "states")
        now = datetime.now(timezone.utc)
        due = [f for f in feeds if self.key.force or is_due(states.get(f.name), now)]
        polls, requests = poll_feeds(due, states, settings, now) if due else ([], 0)
        cands = plan_articles(polls, self.key.base_url)
        known = _read(Path(self.key.db), "known", [c.article_id for c in cands])
        new = [c for c in cands if c.article_id not in known]
        intake = Intake(now, states, due, polls, requests, cands, known, new, time.monotonic() - t0)
        if new:
            for stage in ("pages", "clean", "store"):
                progress.start(stage, len(new))
            intake.pool = CleanerPool(settings.cleaning_workers if len(new) > 1 else 1).__enter__()
            intake.stream = PageStream(new, settings.fetch, intake.pool, settings.batch_size).__enter__()
        return intake

    def take(self) -> Intake | None:
        """The intake, once ready (None if the head start failed); the flow owns it from now on."""
        self._thread.join()
        if self.intake is None:
            return None
        return self.intake

    def _close(self) -> None:
        """Stop the stream and the cleaning pool (a no-op for those already closed)."""
        intake = self.intake
        if intake is None:
            return
        if intake.stream is not None:
            intake.stream.__exit__(None, None, None)
        if intake.pool is not None:
            intake.pool.__exit__(None, None, None)


def take(db: str, feeds_file: str, base_url: str | None, force: bool, log=None) -> Intake | None:
    """The head start the CLI began for a flow run with these arguments, if any (once). One that
    failed is said in ``log`` (the flow then does everything itself)."""
    head = _waiting.pop(_Key(str(db), str(feeds_file), base_url, force), None)
    if head is None:
        return None
    intake = head.take()
    if intake is None and log is not None:
        log.warning("the head start failed (%s: %s); this run polls the feeds itself",
                    type(head.error).__name__, head.error)
    return intake


def _read(db: Path, what: str, ids: list[str] | None = None) -> Any:
    """Feed states or the known article ids, read-only; a database not created yet has neither."""
    from warehouse import backend, store
    from warehouse.db import read_connection

    if backend.config() is not None:
        raise RuntimeError("a DuckLake catalog: the flow reads it itself")  # no file to test for existence
    if not db.exists():
        return {} if what == "states" else set()
    with read_connection(db) as con:
        return store.load_feed_states(con) if what == "states" else store.known_article_ids(con, ids or [])

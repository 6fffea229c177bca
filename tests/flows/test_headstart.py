"""The head start (flows/headstart.py): what the CLI polls and fetches while Prefect starts is
taken over by the flow run with the same arguments, and the run stores exactly what a run without
a head start stores; a head start no flow takes is closed without a trace."""

from __future__ import annotations

import threading

import pytest

from flows.headstart import HeadStart
from flows.ingest import ingest_flow
from tests.reliability.support import SlowSampleServer, snapshot, write_registry

pytestmark = pytest.mark.usefixtures("prefect_harness")

FEEDS = 4  # samples/feeds.toml


@pytest.fixture
def site(tmp_path):
    srv = SlowSampleServer().start()
    yield srv, write_registry(tmp_path, srv.base_url)
    srv.stop()


def _feed_requests(srv) -> int:
    return srv.arrived("/feeds/")


def test_the_flow_takes_the_head_start_and_stores_what_a_run_without_one_stores(site, tmp_path):
    srv, feeds = site
    with_head, without = tmp_path / "head.duckdb", tmp_path / "plain.duckdb"
    with HeadStart(with_head, feeds, None, True, {"workers": 2}) as head:
        run = ingest_flow(db=str(with_head), feeds_file=str(feeds), force=True, settings_overrides={"workers": 2})
    assert head.intake is not None and head.error is None
    assert head.intake.stream is not None and len(head.intake.new) == run["articles_new"] + run["pages_failed"] > 0
    assert _feed_requests(srv) == FEEDS                  # polled once, by the head start, not again by the flow
    assert run["feeds_due"] == FEEDS and run["status"] == "completed"

    plain = ingest_flow(db=str(without), feeds_file=str(feeds), force=True, settings_overrides={"workers": 2})
    assert _feed_requests(srv) == 2 * FEEDS
    assert snapshot(with_head, srv.base_url).content() == snapshot(without, srv.base_url).content()
    assert {k: run[k] for k in ("articles_new", "events_new", "mentions_new", "alerts_new")} == \
           {k: plain[k] for k in ("articles_new", "events_new", "mentions_new", "alerts_new")}

    # A second run: every feed answers 304, nothing to fetch, no cleaning pool started.
    with HeadStart(with_head, feeds, None, True) as again:
        second = ingest_flow(db=str(with_head), feeds_file=str(feeds), force=True)
    assert again.intake is not None and again.intake.new == [] and again.intake.pool is None
    assert second["articles_new"] == 0 and second["feeds_not_modified"] == FEEDS


def test_a_head_start_for_other_arguments_is_not_taken_and_is_closed(site, tmp_path):
    srv, feeds = site
    db = tmp_path / "other.duckdb"
    before = {t.name for t in threading.enumerate()}
    with HeadStart(db, feeds, None, force=False) as head:  # the flow below is forced: not the same run
        run = ingest_flow(db=str(db), feeds_file=str(feeds), force=True)
    assert run["articles_new"] > 0
    assert _feed_requests(srv) == 2 * FEEDS              # the head start's polls, and the flow's own
    assert head.intake is not None and head.intake.stream is not None
    assert {t.name for t in threading.enumerate()} - before == set()   # its page stream was stopped


def test_a_head_start_that_failed_is_said_and_the_flow_does_it_all_itself(site, tmp_path, caplog):
    srv, feeds = site
    db = tmp_path / "failed.duckdb"
    with HeadStart(db, feeds, None, True, {"batch_size": 0}) as head:   # not a valid setting: it fails at once
        run = ingest_flow(db=str(db), feeds_file=str(feeds), force=True)
    assert head.intake is None and head.error is not None
    assert "the head start failed (ConfigError: " in caplog.text and "this run polls the feeds itself" in caplog.text
    assert run["status"] == "completed" and run["articles_new"] > 0
    assert _feed_requests(srv) == FEEDS                  # polled once, by the flow

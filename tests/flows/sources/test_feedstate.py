"""Polling state: backoff grows and is capped, Retry-After and <ttl> are honoured, success resets,
a silent feed turns stale, and no feed is ever given up."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from flows.sources.feedstate import backoff_seconds, health, is_due, next_state
from flows.sources.fetch import FetchRequest, FetchResult
from flows.sources.parse import FeedEntry, ParsedFeed
from flows.settings import ScheduleSettings

NOW = datetime(2025, 6, 10, 12, tzinfo=timezone.utc)
SCHED = ScheduleSettings(poll_interval_s=900, backoff_base_s=300, backoff_cap_s=86400)


def failed(kind="http_5xx", retry_after=None):
    return FetchResult(FetchRequest(url="http://e/f"), "http://e/f", status=503, error_kind=kind,
                       error="boom", retry_after_s=retry_after)


def ok(headers=None):
    return FetchResult(FetchRequest(url="http://e/f"), "http://e/f", status=200, headers=headers or {})


def feed(*days_ago, ttl=None):
    return ParsedFeed(entries=[FeedEntry(f"http://e/{d}", "t", NOW - timedelta(days=d), None, None) for d in days_ago],
                      ttl_s=ttl)


def test_backoff_doubles_with_jitter_and_is_capped():
    rng = random.Random(1)
    delays = [backoff_seconds(n, SCHED, rng) for n in range(1, 12)]
    assert 240 <= delays[0] <= 360
    assert 480 <= delays[1] <= 720
    assert delays[-1] == SCHED.backoff_cap_s
    assert all(d <= SCHED.backoff_cap_s for d in delays)


def test_failures_accumulate_and_success_resets():
    st = None
    for n in range(1, 5):
        st = next_state("f", st, failed(), None, NOW, SCHED, random.Random(0))
        assert st["consecutive_failures"] == n and st["last_outcome"] == "error"
        assert st["next_attempt_at"] > NOW
        assert health(st, NOW, SCHED) == "unhealthy"
    st = next_state("f", st, ok({"etag": '"e1"'}), feed(0, 1), NOW, SCHED)
    assert st["consecutive_failures"] == 0 and st["etag"] == '"e1"' and st["last_error"] is None
    assert health(st, NOW, SCHED) == "ok"


def test_retry_after_is_honoured():
    st = next_state("f", None, failed("http_429", retry_after=7200), None, NOW, SCHED, random.Random(0))
    assert st["next_attempt_at"] >= NOW + timedelta(seconds=7200)


def test_ttl_and_cache_control_lengthen_the_poll_interval():
    st = next_state("f", None, ok(), feed(0, ttl=3600), NOW, SCHED)
    assert st["next_attempt_at"] == NOW + timedelta(seconds=3600)
    st = next_state("f", None, ok({"cache-control": "public, max-age=7200"}), feed(0), NOW, SCHED)
    assert st["next_attempt_at"] == NOW + timedelta(seconds=7200)
    st = next_state("f", None, ok(), feed(0), NOW, SCHED)
    assert st["next_attempt_at"] == NOW + timedelta(seconds=900)


def test_not_modified_keeps_validators_and_counts_as_success():
    st = next_state("f", None, ok({"etag": '"e1"', "last-modified": "Tue, 10 Jun 2025 08:00:00 GMT"}), feed(0), NOW, SCHED)
    nm = FetchResult(FetchRequest(url="http://e/f"), "http://e/f", status=304)
    st2 = next_state("f", st, nm, None, NOW + timedelta(hours=1), SCHED)
    assert st2["last_outcome"] == "not_modified" and st2["etag"] == '"e1"'
    assert st2["last_modified"] == "Tue, 10 Jun 2025 08:00:00 GMT"


def test_a_feed_silent_for_longer_than_its_rhythm_is_stale():
    daily = next_state("f", None, ok(), feed(10, 11, 12, 13), NOW, SCHED)  # daily rhythm, silent 10 days
    assert health(daily, NOW, SCHED) == "stale"
    fresh = next_state("f", None, ok(), feed(0, 1, 2), NOW, SCHED)
    assert health(fresh, NOW, SCHED) == "ok"


def test_due_and_new():
    assert is_due(None, NOW) and health(None, NOW, SCHED) == "new"
    st = next_state("f", None, failed(), None, NOW, SCHED, random.Random(0))
    assert not is_due(st, NOW) and is_due(st, st["next_attempt_at"])

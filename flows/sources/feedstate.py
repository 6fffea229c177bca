"""Per-feed polling state: when to ask again, and whether a feed is healthy. Pure functions.

A failing feed is never disabled: each consecutive failure doubles the wait (with jitter,
capped), a server's Retry-After is honoured, and the first success resets everything.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from typing import Any

from flows.sources.fetch import FetchResult
from flows.sources.parse import ParsedFeed
from flows.settings import ScheduleSettings


def cache_max_age(headers: dict[str, str]) -> int | None:
    m = re.search(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*(\d+)", headers.get("cache-control", ""))
    return int(m.group(1)) if m else None


def backoff_seconds(failures: int, sched: ScheduleSettings, rng: random.Random,
                    retry_after_s: float | None = None) -> float:
    """Exponential backoff with +/-20% jitter, capped; never shorter than Retry-After."""
    base = min(sched.backoff_cap_s, sched.backoff_base_s * 2 ** max(0, failures - 1))
    delay = min(sched.backoff_cap_s, base * rng.uniform(0.8, 1.2))
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, sched.backoff_cap_s))
    return delay


def next_state(
    feed_name: str,
    prev: dict[str, Any] | None,
    result: FetchResult,
    parsed: ParsedFeed | None,
    now: datetime,
    sched: ScheduleSettings,
    rng: random.Random | None = None,
) -> dict[str, Any]:
    rng = rng or random.Random()
    prev = prev or {}
    state: dict[str, Any] = {
        "feed_name": feed_name,
        "etag": prev.get("etag"),
        "last_modified": prev.get("last_modified"),
        "last_status": result.status,
        "last_attempt_at": now,
        "last_success_at": prev.get("last_success_at"),
        "last_entry_at": prev.get("last_entry_at"),
        "typical_interval_s": prev.get("typical_interval_s"),
        "ttl_s": prev.get("ttl_s"),
        "entries_last": prev.get("entries_last"),
        "last_warning": None,
        "last_error": None,
        "last_error_kind": None,
    }
    error_kind, error = result.error_kind, result.error
    if error_kind is None and parsed is not None and parsed.error_kind:
        error_kind, error = parsed.error_kind, parsed.error
    if error_kind is None and not result.not_modified and parsed is None:
        error_kind, error = "not_a_feed", f"{result.final_url}: no feed was parsed"

    if error_kind is not None:
        failures = int(prev.get("consecutive_failures") or 0) + 1
        delay = backoff_seconds(failures, sched, rng, result.retry_after_s)
        state.update(
            last_outcome="error", last_error=error, last_error_kind=error_kind,
            consecutive_failures=failures, next_attempt_at=now + timedelta(seconds=delay),
        )
        return state

    headers = result.headers
    if headers.get("etag"):
        state["etag"] = headers["etag"]
    if headers.get("last-modified"):
        state["last_modified"] = headers["last-modified"]
    max_age = cache_max_age(headers)
    if result.not_modified:
        state["last_outcome"] = "not_modified"
    else:
        assert parsed is not None
        state["last_outcome"] = "ok"
        state["last_warning"] = parsed.warning
        state["entries_last"] = len(parsed.entries)
        newest = parsed.newest_entry
        if newest and (state["last_entry_at"] is None or newest > state["last_entry_at"]):
            state["last_entry_at"] = newest
        if parsed.typical_interval_s:
            state["typical_interval_s"] = parsed.typical_interval_s
        state["ttl_s"] = parsed.ttl_s
    ttl = max(x for x in (state["ttl_s"], max_age, 0) if x is not None)
    wait = max(sched.poll_interval_s, min(ttl, sched.backoff_cap_s))
    state.update(consecutive_failures=0, last_success_at=now, next_attempt_at=now + timedelta(seconds=wait))
    return state


def is_due(state: dict[str, Any] | None, now: datetime) -> bool:
    return not state or state.get("next_attempt_at") is None or state["next_attempt_at"] <= now


def health(state: dict[str, Any] | None, now: datetime, sched: ScheduleSettings) -> str:
    """new | ok | unhealthy | stale. Unhealthy: the last attempt failed (it is retried less often,
    never given up). Stale: silent for longer than its usual rhythm allows."""
    if not state or state.get("last_attempt_at") is None:
        return "new"
    if (state.get("consecutive_failures") or 0) > 0:
        return "unhealthy"
    last_entry = state.get("last_entry_at")
    if last_entry is not None:
        rhythm = state.get("typical_interval_s") or 0
        allowed = max(sched.stale_min_s, sched.stale_factor * rhythm)
        if (now - last_entry).total_seconds() > allowed:
            return "stale"
    return "ok"

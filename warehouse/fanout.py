"""What the scale-out coordinator (``flows.distributed.fanout_flow``) reads and writes in the shared
event log: the expected work per feed (to balance shards), the ``runs`` rows still marked
``running`` (to reconcile them with Prefect), and the feeds that left the registry (a shard sees
only its share of the registry, so only the coordinator, which sees all of it, may disable them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import duckdb


def expected_work(con: duckdb.DuckDBPyConnection, now: datetime, days: int = 30) -> dict[str, int]:
    """Articles each feed brought in the last ``days`` days: what a shard holding it will fetch
    and clean next time (feeds never seen are absent: the caller gives them a default)."""
    rows = con.execute(
        "SELECT feed_name, count(*) FROM article_feeds WHERE first_seen >= ? GROUP BY feed_name",
        [now - timedelta(days=days)],
    ).fetchall()
    return {name: int(n) for name, n in rows}


def running_runs(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None]]:
    """(run_id, flow_run_id) of every run still marked ``running``."""
    return [(r, f) for r, f in con.execute("SELECT run_id, flow_run_id FROM runs WHERE status = 'running'").fetchall()]


def mark_abandoned(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str], now: datetime) -> int:
    """Runs whose process is known to be gone: ``abandoned``, finished now. Returns how many."""
    if not run_ids:
        return 0
    con.execute("UPDATE runs SET status = 'abandoned', finished_at = coalesce(finished_at, ?) "
                "WHERE status = 'running' AND list_contains(?, run_id)", [now, list(run_ids)])
    return len(run_ids)


def disable_feeds_missing(con: duckdb.DuckDBPyConnection, names: Iterable[str], now: datetime) -> None:
    """Feeds no longer in the registry stay in the table, disabled (as an unsharded ingest does)."""
    con.execute("UPDATE feeds SET enabled = FALSE, updated_at = ? WHERE enabled AND NOT list_contains(?, name)",
                [now, list(names)])

"""What the coordinator reads and writes (warehouse.fanout), on a real DuckDB file: expected work
per feed, `running` rows closed as abandoned, feeds that left the registry disabled; and shard
workers no longer disabling feeds they cannot see."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from warehouse import fanout, store
from warehouse.db import transaction, write_connection

NOW = datetime(2026, 1, 10, tzinfo=timezone.utc)


def feed(name):
    return {"name": name, "url": f"https://example.org/{name}.xml", "tags": [], "language": "en",
            "enabled": True, "trusted": False}


def test_expected_work_counts_recent_articles_per_feed(db_path):
    with write_connection(db_path) as con, transaction(con):
        rows = [("a1", "wire", 1), ("a2", "wire", 2), ("a3", "wire", 40), ("a4", "blog", 3)]
        for article, name, days_ago in rows:
            con.execute("INSERT INTO article_feeds VALUES (?, ?, ?)", [article, name, NOW - timedelta(days=days_ago)])
        assert fanout.expected_work(con, NOW) == {"wire": 2, "blog": 1}


def test_running_rows_become_abandoned_and_only_those_named(db_path):
    with write_connection(db_path) as con, transaction(con):
        store.start_run(con, "r1", "flow-1", NOW)
        store.start_run(con, "r2", "flow-2", NOW)
        assert sorted(fanout.running_runs(con)) == [("r1", "flow-1"), ("r2", "flow-2")]
        fanout.mark_abandoned(con, ["r1"], NOW + timedelta(minutes=5))
        rows = con.execute("SELECT run_id, status, finished_at IS NOT NULL FROM runs ORDER BY run_id").fetchall()
    assert rows == [("r1", "abandoned", True), ("r2", "running", False)]


def test_only_the_coordinator_disables_feeds_that_left_the_registry(db_path):
    with write_connection(db_path) as con, transaction(con):
        store.sync_feeds(con, [feed("a"), feed("b"), feed("c")], NOW)
        store.sync_feeds(con, [feed("a")], NOW, shard="0/2")  # a shard sees only its share: "a"
        assert con.execute("SELECT count(*) FROM feeds WHERE enabled").fetchone() == (3,)
        fanout.disable_feeds_missing(con, ["a", "b"], NOW)  # "c" left the registry
        assert con.execute("SELECT name FROM feeds WHERE NOT enabled").fetchall() == [("c",)]

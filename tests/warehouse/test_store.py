"""The feeds table follows the registry (warehouse/store.py): a whole registry disables what left it, a
shard's share disables only that shard's feeds."""

from __future__ import annotations

from datetime import datetime, timezone

from warehouse.backend import shard_of
from warehouse.db import transaction, write_connection
from warehouse.store import sync_feeds

NOW = datetime(2025, 6, 1, 12, tzinfo=timezone.utc)
# Twelve feeds: both shards of a split in two hold some.
NAMES = [f"feed-{i:02d}" for i in range(12)]


def _row(name: str) -> dict:
    return {"name": name, "url": f"https://{name}.example/rss", "tags": [], "language": "en", "enabled": True,
            "trusted": False}


def _enabled(con) -> dict[str, bool]:
    return dict(con.execute("SELECT name, enabled FROM feeds").fetchall())


def test_a_whole_registry_disables_every_feed_that_left_it(db_path):
    with write_connection(db_path) as con, transaction(con):
        sync_feeds(con, [_row(n) for n in NAMES], NOW)
        sync_feeds(con, [_row(n) for n in NAMES[:6]], NOW)
        assert _enabled(con) == {n: n in NAMES[:6] for n in NAMES}


def test_a_shard_disables_no_feed_the_coordinator_disables_those_that_left(db_path):
    mine = [n for n in NAMES if shard_of(n, 2) == 0]
    others = [n for n in NAMES if shard_of(n, 2) == 1]
    assert mine and others
    with write_connection(db_path) as con, transaction(con):
        sync_feeds(con, [_row(n) for n in NAMES], NOW)
        # Shard 0 of 2 sees its share without its first feed: it cannot tell a feed that left the
        # registry from one the planner gave another shard, so it disables none (the coordinator,
        # which reads the whole registry, does: tests/scaleout/test_fanout_store.py).
        sync_feeds(con, [_row(n) for n in mine[1:]], NOW, shard="0/2")
        assert _enabled(con) == {n: True for n in NAMES}

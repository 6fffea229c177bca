"""The coordinator's shard plan (flows.shardplan): every feed exactly once, balanced by expected
work, the same on every machine."""

from __future__ import annotations

import pytest

from flows.shardplan import plan


def loads(shards, weights):
    return [sum(weights.get(f, 1) for f in s) for s in shards]


def test_every_feed_once_and_counts_even_without_history():
    names = [f"feed-{i:02d}" for i in range(12)]
    for n in (1, 2, 3, 5, 12, 15):
        shards = plan(names, {}, n)
        assert len(shards) == n
        assert sorted(f for s in shards for f in s) == sorted(names)
        sizes = [len(s) for s in shards]
        assert max(sizes) - min(sizes) <= 1, sizes  # the hash alone gave 2, 4 and 6 of 12


def test_heavy_feeds_are_spread_by_expected_work():
    weights = {"big-a": 120, "big-b": 110, "big-c": 100} | {f"small-{i}": 10 for i in range(30)}
    shards = plan(weights, weights, 3)
    assert sorted(loads(shards, weights)) == [210, 210, 210]
    assert all(sum(f.startswith("big") for f in s) == 1 for s in shards)


def test_never_seen_feeds_count_as_the_median_feed():
    weights = {"a": 50, "b": 50, "c": 50}
    shards = plan(["a", "b", "c", "new-1", "new-2", "new-3"], weights, 3)
    assert [len(s) for s in shards] == [2, 2, 2]


def test_the_plan_does_not_depend_on_the_registry_order():
    weights = {f"f{i}": (i * 7) % 13 for i in range(20)}
    assert plan(sorted(weights), weights, 4) == plan(sorted(weights, reverse=True), weights, 4)
    with pytest.raises(ValueError):
        plan(["a"], {}, 0)

"""A lost worker costs a retry, not an operator. The recipe of docs/SCALING.md runs (server, pool,
deployments, Prefect's zombie automation, a coordinator worker and three shard workers); while the
fan-out's shard runs fetch slow pages, one shard worker and its flow run are SIGKILLed (a machine
that dies). Prefect's automation marks the lost run Crashed when its heartbeats stop, the
coordinator starts that shard again on a surviving worker, and the fan-out completes on its own;
so does the next one. The lake then equals one process's result, and no `runs` row is left
`running`. Slow (three to five minutes): marked `slow`.
"""

from __future__ import annotations

import time

import pytest

from tests.scaleout.recipe import (EVENTS, MENTIONS, Recipe, as_set, busy_shard_worker, file_rows, kill_tree,
                                   lake_rows, one_process, recipe_parts, rendered_feeds, require_recipe_services,
                                   slow_samples)

pytestmark = pytest.mark.slow


def test_a_killed_worker_costs_a_retry_and_the_lake_equals_one_process(tmp_path, monkeypatch):
    require_recipe_services()
    parts = recipe_parts()
    with slow_samples(delay_s=4.0) as server:
        feeds = rendered_feeds(server.base_url, tmp_path / "feeds.toml")
        one_process(feeds, tmp_path / "ref.duckdb", monkeypatch)
        recipe = Recipe(tmp_path, feeds)
        try:
            setup = recipe.run(parts[1] + parts[2] + parts[3], timeout=600)
            assert setup.returncode == 0, setup.stdout[-6000:] + recipe.log_tail()
            # parts 2 and 3 left the server and workers running in this group
            leader = recipe.groups[-1].pid
            fanout = recipe.start(parts[1] + parts[4])
            deadline = time.monotonic() + 300
            victim = None
            while victim is None and time.monotonic() < deadline and fanout.poll() is None:
                victim = busy_shard_worker(leader, recipe.logs)
                time.sleep(0.5)
            assert victim is not None, "no shard worker was fetching pages within 300 s" + recipe.log_tail()
            killed = kill_tree(victim)
            out, _ = fanout.communicate(timeout=900)
            assert fanout.returncode == 0, out[-6000:] + recipe.log_tail()
            coordinator = (recipe.logs / "worker-coordinator.log").read_text(errors="replace")
            assert "crashed" in coordinator and "starting it again" in coordinator, coordinator[-4000:]

            again = recipe.run(parts[1] + parts[4], timeout=900)  # the next fan-out: nobody cancelled anything
            assert again.returncode == 0, again.stdout[-6000:] + recipe.log_tail()
        except BaseException:
            recipe.stop()
            raise
    try:
        lake = recipe.lake_env()
        for sql in (EVENTS, MENTIONS):
            got, want = as_set(lake_rows(lake, sql, monkeypatch)), as_set(file_rows(tmp_path / "ref.duckdb", sql))
            assert got == want, (f"only in the lake: {sorted(got - want, key=str)[:5]}; "
                                 f"only in one process: {sorted(want - got, key=str)[:5]}")
        statuses = dict(lake_rows(lake, "SELECT status, count(*) FROM runs GROUP BY status", monkeypatch))
        assert "running" not in statuses, statuses
        assert statuses.get("abandoned", 0) >= 1, (statuses, killed)  # the killed shard's run
        assert statuses.get("completed", 0) >= 6, statuses  # two fan-outs of three shards
    finally:
        recipe.stop()

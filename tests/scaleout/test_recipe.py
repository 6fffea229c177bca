"""docs/SCALING.md's recipe (the README points to it), run as written: its shell block is taken
from the markdown and run by bash with real PostgreSQL, a Prefect server on it, a process work
pool, a coordinator worker and three shard workers. A recipe that does not run fails here. The
lake it fills must equal one process on the DuckDB file. Slow (about two minutes): marked `slow`.
"""

from __future__ import annotations

import pytest

from flows.runtime.sample_server import serve_directory
from tests.scaleout.recipe import (EVENTS, MENTIONS, SAMPLES, Recipe, as_set, file_rows, lake_rows, one_process,
                                   recipe_parts, rendered_feeds, require_recipe_services)

pytestmark = pytest.mark.slow


def test_the_recipe_block_has_its_four_parts_and_names_what_the_issue_found_missing():
    parts = recipe_parts()
    setup = parts[1]
    assert "export PREFECT_API_URL=" in setup
    assert 'export DEFWATCH_HOME="$PWD"' in setup
    assert "createdb" in parts[2] and "$DEFWATCH_PG_DB" in parts[2] and "$PREFECT_PG_DB" in parts[2]
    assert "deploy --all" in parts[2]


def test_the_recipe_runs_as_written_and_the_lake_equals_one_process(tmp_path, monkeypatch):
    require_recipe_services()
    parts = recipe_parts()
    with serve_directory(SAMPLES) as server:
        feeds = rendered_feeds(server.base_url, tmp_path / "feeds.toml")
        one_process(feeds, tmp_path / "ref.duckdb", monkeypatch)
        recipe = Recipe(tmp_path, feeds)
        try:
            done = recipe.run("".join(parts[k] for k in (1, 2, 3, 4)), timeout=900)
            assert done.returncode == 0, done.stdout[-6000:] + recipe.log_tail()
        except BaseException:
            recipe.stop()
            raise
    try:
        # `defwatch query` at the end of the recipe printed the event count of the shared log.
        lake = recipe.lake_env()
        events = lake_rows(lake, EVENTS, monkeypatch)
        assert events, done.stdout[-3000:]
        assert as_set(events) == as_set(file_rows(tmp_path / "ref.duckdb", EVENTS))
        assert as_set(lake_rows(lake, MENTIONS, monkeypatch)) == as_set(file_rows(tmp_path / "ref.duckdb", MENTIONS))
        # Every shard ran once and finished; the fan-out's runs are all completed.
        assert lake_rows(lake, "SELECT status, count(*) FROM runs GROUP BY status", monkeypatch) == [("completed", 3)]
        # The work spread: --limit 1 on each shard worker, so each of the three ran one shard.
        served = [w for w in (1, 2, 3) if "Completed" in (recipe.logs / f"worker-{w}.log").read_text()]
        assert len(served) == 3, recipe.log_tail()
    finally:
        recipe.stop()


def test_the_readme_carries_the_same_recipe():
    import re

    from tests.scaleout.recipe import DOC, REPO

    def block(path):
        m = re.search(r"<!-- recipe:begin -->(.*?)<!-- recipe:end -->", path.read_text(encoding="utf-8"), re.S)
        assert m, f"{path.name} has no recipe block"
        return m.group(1)

    assert block(REPO / "README.md") == block(DOC)

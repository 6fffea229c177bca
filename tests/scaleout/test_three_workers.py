"""Three worker processes ingest disjoint shards of the sample corpus into one DuckLake at once;
the event log they build equals a single-process run on the DuckDB file, with no duplicates.

The workers are plain processes running the ``ingest-shard`` flow (``python -m flows.distributed
worker``) against the session's Prefect test server: what a process work pool's workers do, less
the polling of the pool (exercised by hand in docs/SCALING.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.scaleout.conftest import lake_rows

pytestmark = pytest.mark.usefixtures("prefect_harness")

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
OVERRIDES = {"workers": 1, "fetch": {"timeout_s": 5, "total_timeout_s": 10}}

# Which copy of a syndicated text keeps the text (and so the mentions) depends on which shard
# commits first; both copies have the same content_hash, so mentions are compared by it.
EVENTS = ("SELECT event_id, type, parties, status, date, date_precision, location, mention_count, "
          "retracted_at IS NULL FROM events")
MENTIONS = ("SELECT m.event_id, a.content_hash, m.evidence, m.status, m.date, m.location, m.retracted_at IS NULL "
            "FROM event_mentions m JOIN articles a USING (article_id)")
ARTICLES = "SELECT url, content_hash, title FROM articles"


def test_shards_are_disjoint_and_cover_the_registry():
    from flows.distributed import assignment, split_registry
    from warehouse import backend

    text = (SAMPLES / "feeds.toml").read_text()
    names = set(assignment(SAMPLES / "feeds.toml", 1))
    for n in (1, 2, 3, 7):
        parts = [set(split_registry(text, f"{i}/{n}")[1]) for i in range(n)]
        assert set().union(*parts) == names
        assert sum(len(p) for p in parts) == len(names)
        assert split_registry(text, f"0/{n}")[0].count('url = "{{BASE_URL}}') == len(parts[0])
    assert backend.shard_of("eu-defence-wire", 3) == 1  # stable across processes and machines
    with pytest.raises(backend.BackendError):
        backend.parse_shard("3/3")


@pytest.mark.parametrize("n", [2, 3])
def test_n_workers_into_one_ducklake_equal_one_process_on_duckdb(n, lake, tmp_path, monkeypatch):
    """Fan-outs with different shard counts give one process's articles, events and mentions,
    event ids included. docs/SCALING.md says where ids must agree; on this corpus every event with
    several reports (some of mixed precision: undated, 2024, 2024-11) gets them all through one
    feed, so through one shard, in the order one process sees them."""
    from prefect.settings import PREFECT_API_URL

    from flows.ingest import ingest_flow
    from flows.runtime.sample_server import serve_directory
    from warehouse import store
    from warehouse.db import read_connection

    feeds = str(SAMPLES / "feeds.toml")
    with serve_directory(SAMPLES) as server:
        # 1. The reference: one process, the embedded DuckDB file.
        for k in lake:
            monkeypatch.delenv(k)
        ref_db = tmp_path / "ref.duckdb"
        ref = ingest_flow(db=str(ref_db), feeds_file=feeds, base_url=server.base_url, force=True,
                          settings_overrides=OVERRIDES)
        assert ref["status"] == "completed" and ref["articles_new"] > 0
        for k, v in lake.items():
            monkeypatch.setenv(k, v)

        # 2. n workers, one shard each, concurrently, into one DuckLake.
        env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value(), **lake)
        env.pop("DEFWATCH_SHARD", None)
        t0 = time.monotonic()
        procs = [subprocess.Popen(
            [sys.executable, "-m", "flows.distributed", "worker", "--shard", f"{i}/{n}", "--db",
             str(tmp_path / "lake-runs"), "--feeds", feeds, "--base-url", server.base_url, "--force",
             "--overrides", json.dumps(OVERRIDES)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(n)]
        summaries = []
        for p in procs:
            out, err = p.communicate(timeout=420)
            assert p.returncode == 0, err[-4000:]
            summaries.append(json.loads(out.strip().splitlines()[-1]))
        elapsed = time.monotonic() - t0

    assert sorted(s["shard"] for s in summaries) == [f"{i}/{n}" for i in range(n)]
    assert all(s["status"] == "completed" for s in summaries)
    # Each feed was polled by exactly one worker.
    assert sum(s["feeds_due"] for s in summaries) == ref["feeds_due"]
    assert sum(s["articles_new"] for s in summaries) == ref["articles_new"]

    def ref_rows(sql):
        with duckdb.connect(str(ref_db), read_only=True) as con:
            return con.execute(sql).fetchall()

    def as_set(rows):
        out = {tuple(tuple(v) if isinstance(v, list) else v for v in r) for r in rows}
        assert len(out) == len(rows), "duplicate rows"
        return out

    assert as_set(lake_rows(ARTICLES)) == as_set(ref_rows(ARTICLES))
    ref_events = as_set(ref_rows(EVENTS))
    assert len(ref_events) > 5
    assert as_set(lake_rows(EVENTS)) == ref_events
    assert as_set(lake_rows(MENTIONS)) == as_set(ref_rows(MENTIONS))
    assert lake_rows("SELECT count(*) FROM event_history")[0][0] >= len(ref_events)
    assert lake_rows("SELECT count(*), count(*) FILTER (status = 'completed') FROM runs") == [(n, n)]
    assert {r[0] for r in lake_rows("SELECT name FROM feeds WHERE enabled")} == \
        {r[0] for r in ref_rows("SELECT name FROM feeds WHERE enabled")}
    with read_connection("unused") as con:
        assert store.duplicate_keys(con) == {}
    print(f"{n} workers: {elapsed:.1f} s")

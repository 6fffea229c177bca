"""Readers during slow pages: the ingest never holds the DuckDB file while it waits for the network.

DuckDB's read-write holder blocks every other process, readers included. Before this test, a run
kept its connection open while a batch's pages were fetched, so with pages that take seconds a
`defwatch query` waited for the next batch write, and failed after 30 s ("did not free it within
30 s") when the pages took longer than that. Here every article page takes 25 s to answer, and a
second process queries while they are in flight: it must answer well within the time a blocked
query would need (the rest of the 25 s at least), and see the run as running.
"""

from __future__ import annotations

import time

import pytest

from tests.reliability.faults_support import run_defwatch
from tests.reliability.support import SlowSampleServer, child_env, run_cli, snapshot, write_registry

pytestmark = pytest.mark.flow

PAGE_DELAY_S = 25.0
# A query blocked by the writer could not answer before the pages did (>= PAGE_DELAY_S minus the
# second it starts after the first page request). An unblocked one takes the CLI's start-up
# (1-4 s on the busy 2-core build machine).
QUERY_BOUND_S = 12.0


def test_a_query_during_slow_pages_answers_at_once_and_the_run_ends_like_a_clean_one(tmp_path, prefect_api_url):
    srv = SlowSampleServer().start()
    try:
        feeds = write_registry(tmp_path, srv.base_url)
        env = child_env(prefect_api_url, {
            "DEFWATCH_WORKERS": "1", "DEFWATCH_BATCH_SIZE": "20",
            # Every page of the demo in flight at once, and patient enough for the slow server.
            "DEFWATCH_FETCH__PER_HOST": "64", "DEFWATCH_FETCH__CONCURRENCY": "64",
            "DEFWATCH_FETCH__TIMEOUT_S": "60", "DEFWATCH_FETCH__TOTAL_TIMEOUT_S": "90"})
        db = tmp_path / "events.duckdb"
        srv.delays["articles"] = PAGE_DELAY_S
        queries: list[tuple[float, float, object]] = []   # (started after first page request, took, outcome)

        def query_while_pages_wait(proc) -> None:
            deadline = time.monotonic() + 120
            while srv.arrived("/articles") == 0:
                if proc.returncode is not None or time.monotonic() > deadline:
                    return
                time.sleep(0.05)
            first_page = time.monotonic()
            time.sleep(1.0)  # the flow is now waiting for its first batch
            started = time.monotonic()
            out = run_defwatch(["query", "--db", str(db), "--format", "csv", "select status from runs"], env,
                               timeout=60, settle_s=1)
            queries.append((started - first_page, time.monotonic() - started, out))

        run = run_cli(["ingest", "--db", str(db), "--feeds", str(feeds), "--force"], env, tmp_path,
                      timeout=240, while_running=query_while_pages_wait, tag="slow")
        assert run.returncode == 0, run.stderr[-3000:]
        assert len(queries) == 1, "the query ran while pages were in flight"
        (after, took, out), = queries
        assert out.returncode == 0, out.lines
        assert out.lines == ["status", "running"], "the query answered during the run"
        print(f"query started {after:.1f} s after the first page request, answered in {took:.1f} s; "
              f"the run took {run.elapsed_s:.1f} s")
        assert took < QUERY_BOUND_S, f"the query took {took:.1f} s: it waited for the writer"
        assert after + took < PAGE_DELAY_S, "it answered before the first page did"
        assert run.elapsed_s > PAGE_DELAY_S, "the pages really were slow"

        srv.delays.clear()
        clean = tmp_path / "clean.duckdb"
        ref = run_cli(["ingest", "--db", str(clean), "--feeds", str(feeds), "--force"], env, tmp_path, tag="clean")
        assert ref.returncode == 0, ref.stderr[-3000:]
        got, want = snapshot(db, srv.base_url), snapshot(clean, srv.base_url)
        assert got.content() == want.content() and got.runs == want.runs
    finally:
        srv.stop()

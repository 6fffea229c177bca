"""Two ingest runs started at the same moment on one database: one runs, the other waits
(--wait) or exits with code 3 and "Another ingest run (process N) holds the database"; never a
duplicate, never a corrupt file. (Queries while an ingest writes: see
tests/flows/test_eventlog_flow.py::test_queries_from_another_process_work_while_ingest_writes.)"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.reliability.faults_support import run_defwatch
from tests.reliability.support import SlowSampleServer, child_env, query_db, run_cli, write_registry

pytestmark = pytest.mark.flow


def _race(tmp_path, api_url, extra_args: list[str]):
    srv = SlowSampleServer().start()
    srv.delays["articles"] = 0.1   # the run holds the lock for a few seconds
    try:
        feeds = write_registry(tmp_path, srv.base_url)
        db = tmp_path / "race.duckdb"
        env = child_env(api_url, {"DEFWATCH_WORKERS": "1", "DEFWATCH_BATCH_SIZE": "10"})
        args = ["ingest", "--db", str(db), "--feeds", str(feeds), "--force", "--json", *extra_args]
        with ThreadPoolExecutor(2) as pool:
            runs = list(pool.map(lambda _: run_defwatch(args, env), ["a", "b"]))
        return db, runs
    finally:
        srv.stop()


def _assert_no_duplicates_and_queryable(db, tmp_path, api_url):
    assert query_db(db, "SELECT count(*), count(DISTINCT url), count(DISTINCT article_id) FROM articles") == [(35, 35, 35)]
    n, distinct = query_db(db, "SELECT count(*), count(DISTINCT event_id) FROM events")[0]
    assert n == distinct > 0
    assert query_db(db, "SELECT count(*) FROM (SELECT event_id, article_id FROM event_mentions "
                        "GROUP BY ALL HAVING count(*) > 1)") == [(0,)]
    q = run_cli(["query", "--db", str(db), "--format", "csv", "select count(*) from articles"],
                child_env(api_url), tmp_path, tag="query")
    assert q.returncode == 0 and q.stdout.splitlines()[1] == "35", q.stderr
    assert query_db(db, "PRAGMA database_size")  # the file opens and reports itself


def test_second_run_exits_3_with_a_clear_message(tmp_path, prefect_api_url):
    db, runs = _race(tmp_path, prefect_api_url, [])
    codes = sorted(r.returncode for r in runs)
    assert codes in ([0, 3], [0, 0]), [(r.returncode, r.stderr[-1500:]) for r in runs]
    for r in runs:
        assert r.leftovers == [], r.leftovers
        if r.returncode == 3:
            # One clear line and nothing else: the CLI holds the run lock around the whole flow
            # call, so the loser is refused before Prefect runs anything (no Prefect traceback).
            assert len(r.lines) == 1, r.lines
            assert re.fullmatch(r"error: Another ingest run \(process \d+\) holds the database .*--wait SECONDS.*",
                                r.lines[0]), r.lines
    _assert_no_duplicates_and_queryable(db, tmp_path, prefect_api_url)


def test_with_wait_both_finish_and_the_second_adds_nothing(tmp_path, prefect_api_url):
    db, runs = _race(tmp_path, prefect_api_url, ["--wait", "240"])
    assert [r.returncode for r in runs] == [0, 0], [r.stderr[-1500:] for r in runs]
    new = sorted(json.loads(r.stdout)["articles_new"] for r in runs)
    assert new == [0, 35], new
    assert [s for (s,) in query_db(db, "SELECT status FROM runs")] == ["completed", "completed"]
    _assert_no_duplicates_and_queryable(db, tmp_path, prefect_api_url)

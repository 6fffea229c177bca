"""Uniqueness on DuckLake, which has no primary keys: anti-joins under the lake's writer lock.

The first test records why the lock exists: DuckLake lets two concurrent transactions append the
same key (appends never conflict), so an anti-join alone would let both through.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.scaleout.conftest import lake_rows

REPO = Path(__file__).resolve().parents[2]

WRITER = r"""
import json, sys, time
from datetime import datetime, timezone
from pathlib import Path
from warehouse import store, alerts, eventlog
from warehouse.db import transaction, write_connection

me, go = int(sys.argv[1]), Path(sys.argv[2])
while not go.exists():
    time.sleep(0.01)
now = datetime.now(timezone.utc)
done = 0
for round_ in range(3):
    # Every writer inserts the same 20 articles (and a few of its own), the same alerts, the
    # same sightings, and upserts the same extraction rows, in overlapping batches.
    arts = [{"article_id": f"a{k:03d}", "url": f"http://x/{k}", "original_url": f"http://x/{k}",
             "feed_name": "f", "text_source": "page", "fetched_at": now, "run_id": f"w{me}"}
            for k in [*range(round_ * 5, round_ * 5 + 20), 100 + me * 10 + round_]]
    sights = [{"article_id": a["article_id"], "feed_name": "f", "first_seen": now} for a in arts]
    al = [{"alert_id": f"al{k}", "event_id": f"e{k}", "kind": "partnership.new", "value": None,
           "old_value": None, "rules": ["r"], "created_at": now, "run_id": f"w{me}"} for k in range(10)]
    dl = [{"alert_id": f"al{k}", "channel_key": "cfg:log", "channel_label": "log", "status": "pending",
           "attempts": 0, "last_error": None, "last_attempt_at": None, "next_attempt_at": None,
           "sent_at": None} for k in range(10)]
    ex = [{"article_id": f"a{k:03d}", "ruleset_version": f"w{me}", "events": me, "extracted_at": now}
          for k in range(10)]
    with write_connection("unused") as con, transaction(con):
        done += store.bulk_insert(con, "articles", arts + arts[:3], store.ARTICLE_COLUMNS)
        store.record_sightings(con, sights)
        alerts.insert_alerts(con, al, dl)
        store.bulk_insert(con, "article_extractions", ex, ("article_id", "ruleset_version", "events", "extracted_at"),
                          on_conflict="DO UPDATE SET ruleset_version = excluded.ruleset_version, "
                                      "events = excluded.events, extracted_at = excluded.extracted_at",
                          conflict_target="(article_id)")
print(json.dumps({"writer": me, "inserted": done}))
"""


def test_ducklake_alone_lets_concurrent_appends_duplicate_a_key(lake):
    """Without the writer lock: two transactions that both checked 'not there yet' both commit."""
    from warehouse import backend

    cfg = backend.config()
    a, b = backend.connect(cfg), backend.connect(cfg)
    try:
        a.execute("CREATE TABLE k (id VARCHAR)")
        for con in (a, b):
            con.execute("BEGIN")
            con.execute("INSERT INTO k SELECT 'x' WHERE NOT EXISTS (SELECT 1 FROM k WHERE id = 'x')")
        a.execute("COMMIT")
        b.execute("COMMIT")  # no conflict: DuckLake appends never conflict
        assert a.execute("SELECT count(*) FROM k").fetchone()[0] == 2
    finally:
        backend.close(a)
        backend.close(b)


def test_concurrent_writers_of_the_same_keys_leave_no_duplicate(lake, tmp_path):
    from warehouse.db import write_connection

    with write_connection("unused"):
        pass  # create the lake (schema migrated) before the race starts
    go = tmp_path / "go"
    env = dict(os.environ, **lake)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(i), str(go)], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(4)]
    time.sleep(1.0)
    go.touch()
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))

    # 30 shared articles (a000..a029) + 3 own per writer; each inserted exactly once overall.
    assert lake_rows("SELECT count(*), count(DISTINCT article_id), count(DISTINCT url) FROM articles") == [(42, 42, 42)]
    assert sum(o["inserted"] for o in outs) == 42
    assert lake_rows("SELECT count(*) FROM article_feeds") == [(42,)]
    assert lake_rows("SELECT count(*), count(DISTINCT alert_id) FROM alerts") == [(10, 10)]
    assert lake_rows("SELECT count(*) FROM alert_deliveries") == [(10,)]
    # The upsert kept one row per article, with the values of one writer's last commit.
    assert lake_rows("SELECT count(*), count(DISTINCT article_id) FROM article_extractions") == [(10, 10)]
    assert lake_rows("SELECT count(DISTINCT ruleset_version) FROM article_extractions")[0][0] == 1

    from warehouse import store
    from warehouse.db import read_connection

    with read_connection("unused") as con:
        assert store.duplicate_keys(con) == {}


def test_migrations_translate_for_ducklake():
    """No PRIMARY KEY / UNIQUE / index reaches DuckLake; the keys are kept for the anti-joins."""
    from warehouse import backend
    from warehouse.db import TABLE_KEYS, _migrations

    for _, _, sql in _migrations():
        out = backend.translate_ddl(sql).upper()
        assert "PRIMARY KEY" not in out and "UNIQUE" not in out and "CREATE INDEX" not in out
    assert TABLE_KEYS["articles"] == [("article_id",), ("url",)]
    assert TABLE_KEYS["event_mentions"] == [("event_id", "article_id")]
    assert TABLE_KEYS["alert_deliveries"] == [("alert_id", "channel_key")]
    assert "run_errors" not in TABLE_KEYS and "event_history" not in TABLE_KEYS


def test_backend_switch_defaults_to_the_duckdb_file():
    from warehouse import backend

    assert backend.config({}) is None
    assert backend.config({"DEFWATCH_WAREHOUSE": "duckdb"}) is None
    with pytest.raises(backend.BackendError, match="DATA_PATH"):
        backend.config({"DEFWATCH_WAREHOUSE": "ducklake"})
    with pytest.raises(backend.BackendError, match="'duckdb'"):
        backend.config({"DEFWATCH_WAREHOUSE": "sqlite"})
    cfg = backend.config({"DEFWATCH_WAREHOUSE": "ducklake", "DEFWATCH_DUCKLAKE_DATA_PATH": "/srv/lake/"})
    assert cfg.catalog == backend.DEFAULT_CATALOG and cfg.data_path == "/srv/lake/"

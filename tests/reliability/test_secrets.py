"""Secrets and access: a --notify URL's token never appears in run_errors, alert_deliveries or the
output; the query command cannot write; the database file is owner-only."""

from __future__ import annotations

import stat

import pytest

from tests.reliability.support import ALERT_CONFIG, SlowSampleServer, child_env, query_db, run_cli, write_registry

pytestmark = pytest.mark.flow
TOKEN = "tok3n-Zq81x"


@pytest.fixture(scope="module")
def failed_notify_run(tmp_path_factory, prefect_api_url):
    tmp = tmp_path_factory.mktemp("secrets")
    srv = SlowSampleServer().start()
    try:
        feeds = write_registry(tmp, srv.base_url)
        config = tmp / "alerts.toml"
        config.write_text(ALERT_CONFIG)
        db = tmp / "s.duckdb"
        env = child_env(prefect_api_url, {"DEFWATCH_CONFIG": str(config), "DEFWATCH_WORKERS": "1",
                                          "DEFWATCH_WEBHOOK_SECRET": TOKEN + "-hmac"})
        # port 1 on loopback: nothing listens, every delivery fails and is recorded
        run = run_cli(["ingest", "--db", str(db), "--feeds", str(feeds), "--force", "--json",
                       "--notify", f"json://user:{TOKEN}@127.0.0.1:1/x?token={TOKEN}"], env, tmp, tag="notify")
    finally:
        srv.stop()
    return run, db, tmp, env


def test_a_failing_notify_url_never_shows_its_token(failed_notify_run):
    run, db, tmp, env = failed_notify_run
    assert run.returncode == 0, run.stderr[-3000:]
    summary = run.json()
    assert summary["alerts_failed"] > 0 and summary["alerts_sent"] == 0
    errors = query_db(db, "SELECT last_error, channel_label, channel_key FROM alert_deliveries")
    assert errors and all(e[0] for e in errors), "each failed delivery records why"
    everything = "\n".join([run.stdout, run.stderr, repr(errors),
                            repr(query_db(db, "SELECT * FROM run_errors")), repr(query_db(db, "SELECT * FROM runs")),
                            repr(query_db(db, "SELECT * FROM alerts"))])
    assert TOKEN not in everything
    assert "127.0.0.1:1" in errors[0][1], "the label still says where it went"


def test_query_cannot_write(failed_notify_run):
    run, db, tmp, env = failed_notify_run
    before = query_db(db, "SELECT count(*) FROM articles")
    for sql in ["DELETE FROM articles", "drop table events", "/* c */ UPDATE runs SET status = 'x'",
                "WITH x AS (SELECT 1) DELETE FROM articles", "SELECT 1; DELETE FROM articles",
                "COPY articles TO '/tmp/x.csv'", "ATTACH '/tmp/other.duckdb' AS o",
                "CREATE TABLE t AS SELECT 1", "INSTALL httpfs"]:
        r = run_cli(["query", "--db", str(db), sql], env, tmp, tag="query")
        assert r.returncode != 0, sql
        assert "read-only" in r.stderr or "refused" in r.stderr or "error:" in r.stderr, (sql, r.stderr[-500:])
        assert "Traceback" not in r.stderr, r.stderr[-1500:]
    assert query_db(db, "SELECT count(*) FROM articles") == before
    assert query_db(db, "SELECT count(*) FROM runs WHERE status = 'x'") == [(0,)]


def test_database_file_is_owner_only(failed_notify_run):
    run, db, tmp, env = failed_notify_run
    for path in [db, db.with_name(db.name + ".lock")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path.name} is {oct(mode)}"

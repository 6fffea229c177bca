"""`defwatch demo`, `ingest` and `serve` as a user runs them: real processes, real output."""

from __future__ import annotations

import json
import re

import duckdb

from tests.support.cli import defwatch


def test_demo_twice_second_run_adds_nothing(tmp_path):
    db = tmp_path / "demo.duckdb"
    first = defwatch("demo", "--db", str(db), "--json")
    assert first.returncode == 0, first.stderr[-3000:]
    run1 = json.loads(first.stdout)
    assert run1["status"] == "completed" and run1["articles_new"] >= 25
    second = defwatch("demo", "--db", str(db), "--json")
    assert second.returncode == 0, second.stderr[-3000:]
    run2 = json.loads(second.stdout)
    assert run2["articles_new"] == 0 and run2["pages_fetched"] == 0
    with duckdb.connect(str(db), read_only=True) as con:
        n, distinct, with_furniture = con.execute(
            "SELECT count(*), count(DISTINCT url), count(*) FILTER (WHERE text ILIKE '%cookies%' "
            "OR text ILIKE '%Accept all%' OR text ILIKE '%Related stories%' OR text ILIKE '%All rights reserved%') "
            "FROM articles").fetchone()
        runs = con.execute("SELECT status, articles_new FROM runs ORDER BY started_at").fetchall()
    assert n == run1["articles_new"] and distinct == n and with_furniture == 0
    assert runs == [("completed", run1["articles_new"]), ("completed", 0)]
    assert oct(db.stat().st_mode & 0o777) == "0o600"


def test_demo_prints_a_readable_summary(tmp_path):
    out = defwatch("demo", "--db", str(tmp_path / "d.duckdb"))
    assert out.returncode == 0, out.stderr[-3000:]
    assert "new articles stored" in out.stdout
    assert re.search(r"\d+ articles in .*d\.duckdb", out.stdout)


def test_malformed_registry_exits_2_and_names_the_line(tmp_path):
    feeds = tmp_path / "feeds.toml"
    feeds.write_text('[[feed]]\nname = "ok"\nurl = "https://example.org/rss"\n\n[[feed]]\nname = "x"\nurl = \n')
    db = tmp_path / "x.duckdb"
    out = defwatch("ingest", "--db", str(db), "--feeds", str(feeds))
    assert out.returncode == 2
    assert "error:" in out.stderr and "feeds.toml: not valid TOML" in out.stderr and "line 7" in out.stderr
    assert "Traceback" not in out.stderr
    assert not db.exists()


def test_serve_needs_a_schedule():
    out = defwatch("serve", "--db", "/tmp/x.duckdb")
    assert out.returncode == 2 and "Give exactly one of --every" in out.stderr
    out = defwatch("serve", "--every", "soon")
    assert out.returncode == 2 and "such as 90s, 15m" in out.stderr

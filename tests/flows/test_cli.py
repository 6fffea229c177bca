"""The defwatch command as a user runs it: real processes, real output."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO

DEFWATCH = [sys.executable, "-m", "flows.cli"]


def defwatch(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 240):
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run([*DEFWATCH, *args], cwd=cwd or REPO, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


def test_help_lists_every_command_and_each_is_in_the_readme():
    out = defwatch("--help")
    assert out.returncode == 0
    commands = re.findall(r"│ (\w[\w-]*)\s{2,}", out.stdout)
    assert {"ingest", "demo", "feeds", "serve", "extract", "eval"} <= set(commands)
    readme = (REPO / "README.md").read_text()
    undocumented = [c for c in commands if f"defwatch {c}" not in readme]
    assert undocumented == [], f"commands missing from README.md: {undocumented}"


def test_help_does_not_import_prefect_or_trafilatura():
    code = ("import sys; from flows.cli import app; from typer.testing import CliRunner; "
            "CliRunner().invoke(app, ['--help']); "
            "print(sorted(m for m in ('prefect', 'trafilatura', 'duckdb') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


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


def test_feeds_list_shows_the_registry():
    out = defwatch("feeds", "list", "--db", "/nonexistent/x.duckdb")
    assert out.returncode == 0, out.stderr
    assert "nato-news" in out.stdout and "feeds in feeds.toml" in out.stdout


def test_feeds_check_reports_each_feed(tmp_path, server):
    server.route("/good", content_type="application/rss+xml",
                 body=b'<rss version="2.0"><channel><title>t</title><item><title>a</title><link>http://e/a</link></item></channel></rss>')
    server.route("/bad", status=500)
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(f'[[feed]]\nname = "good"\nurl = "{server.url("/good")}"\ntrusted = true\n\n'
                     f'[[feed]]\nname = "bad"\nurl = "{server.url("/bad")}"\ntrusted = true\n')
    out = defwatch("feeds", "check", "--feeds", str(feeds))
    assert out.returncode == 1
    assert re.search(r"good\s+│ ok\s+│ 200\s+│ 1", out.stdout)
    assert re.search(r"bad\s+│ http_5xx", out.stdout)
    assert "1 of 2 feeds failed." in out.stderr


def test_serve_needs_a_schedule():
    out = defwatch("serve", "--db", "/tmp/x.duckdb")
    assert out.returncode == 1 and "Give exactly one of --every" in out.stderr
    out = defwatch("serve", "--every", "soon")
    assert out.returncode == 2 and "such as 90s, 15m" in out.stderr


def test_query_table_shows_the_first_rows_and_counts_the_rest(tmp_path):
    from warehouse.db import write_connection

    db = tmp_path / "q.duckdb"
    with write_connection(db):
        pass  # an empty event log: the query below makes its own rows
    sql = "SELECT i AS n, 'row ' || i AS label FROM range(250) r(i) ORDER BY i"
    capped = defwatch("query", "--db", str(db), sql)
    assert capped.returncode == 0, capped.stderr[-2000:]
    lines = capped.stdout.splitlines()
    assert lines[-1] == ("250 rows (the first 100 shown: --max-rows 0 shows all, --format csv or --out writes all)")
    shown = [int(m) for m in re.findall(r"^│ (\d+) +│ row \d+", capped.stdout, flags=re.M)]
    assert shown == list(range(100))
    everything = defwatch("query", "--db", str(db), "--max-rows", "0", sql)
    assert everything.stdout.splitlines()[-1] == "250 rows"
    assert [int(m) for m in re.findall(r"^│ (\d+) +│", everything.stdout, flags=re.M)] == list(range(250))
    few = defwatch("query", "--db", str(db), "--max-rows", "300", sql)
    assert few.stdout.splitlines()[-1] == "250 rows"
    # Other formats always get every row.
    csv_out = defwatch("query", "--db", str(db), "--format", "csv", sql)
    assert len(csv_out.stdout.splitlines()) == 251

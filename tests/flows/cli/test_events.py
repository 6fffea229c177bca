"""`defwatch query` and `export` on a real database: what they print, and files that hold the event log's rows."""

from __future__ import annotations

import csv
import json
import re

from tests.support.cli import defwatch
from tests.support.db import query_rows
from tests.support.eventlog import demo_log


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



def test_export_csv_writes_the_three_tables_and_says_where(tmp_path):
    db, out_dir = tmp_path / "log.duckdb", tmp_path / "export"
    demo_log(db)
    out = defwatch("export", "--db", str(db), "--out", str(out_dir), "--format", "csv")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        f"events          -> {out_dir / 'events.csv'}",
        f"event_mentions  -> {out_dir / 'event_mentions.csv'}",
        f"event_history   -> {out_dir / 'event_history.csv'}",
    ]
    for table in ("events", "event_mentions", "event_history"):
        with open(out_dir / f"{table}.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == query_rows(db, f"SELECT count(*) FROM {table}")[0][0], table
    with open(out_dir / "events.csv", newline="", encoding="utf-8") as f:
        exported = sorted((r["event_id"], r["parties"], r["status"]) for r in csv.DictReader(f))
    assert exported == sorted((eid, "|".join(parties), status)
                              for eid, parties, status in query_rows(db, "SELECT event_id, parties, status FROM events"))
    assert len(exported) == 7  # six events of the first batch, one new pact later (the seventh report changed one)


def test_export_json_holds_the_same_events(tmp_path):
    db, out_dir = tmp_path / "log.duckdb", tmp_path / "export"
    demo_log(db)
    out = defwatch("export", "--db", str(db), "--out", str(out_dir), "--format", "json")
    assert out.returncode == 0, out.stderr
    events = json.loads((out_dir / "events.json").read_text(encoding="utf-8"))
    assert sorted(e["event_id"] for e in events) == sorted(r[0] for r in query_rows(db, "SELECT event_id FROM events"))


def test_export_refuses_an_unknown_format_in_one_line(tmp_path):
    db = tmp_path / "log.duckdb"
    demo_log(db)
    out = defwatch("export", "--db", str(db), "--out", str(tmp_path / "x"), "--format", "xml")
    assert out.returncode == 2
    assert out.stderr.strip() == "error: unknown export format 'xml': use parquet, csv or json"

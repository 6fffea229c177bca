"""Every command given a bad argument, file or config: exit 2 and one line saying what is wrong
and what to do, never a traceback; and messages printed literally (brackets are not markup)."""

from __future__ import annotations

import pytest

from tests.conftest import REPO
from tests.support.cli import defwatch
from tests.support.eventlog import demo_log


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad-input")
    demo_log(d / "log.duckdb")
    (d / "bad.jsonl").write_text("not json\n", encoding="utf-8")
    (d / "article.txt").write_text("Japan and the Philippines signed a pact.\n", encoding="utf-8")
    (d / "full").mkdir()
    (d / "full" / "x").write_text("x", encoding="utf-8")
    (d / "typo.toml").write_text("[fetch]\nconcurency = 32\n", encoding="utf-8")
    (d / "typo-top.toml").write_text("batchsize = 3\n", encoding="utf-8")
    (d / "bad-value.toml").write_text("[fetch]\nconcurrency = 0\n", encoding="utf-8")
    return d


# (arguments, environment, the line the user sees). {d} is the test's folder, {db} its event log.
CASES = [
    (["events", "--bogus"], {}, "error: No such option: --bogus (Possible options: --out). See `defwatch events --help`."),
    (["events", "--limit", "x"], {}, None),
    (["query"], {}, "error: Missing argument 'sql'. See `defwatch query --help`."),
    (["query", "--db", "{db}", 'select * from "[/x]"'], {},
     "error: query failed: Catalog Error: Table with name [/x] does not exist!"),
    (["query", "--db", "{db}", "select 1", "-f", "parquet"], {}, "error: --format parquet needs --out FILE.parquet"),
    (["events", "--db", "{db}", "--since", "2025-13"], {},
     "error: --since '2025-13': not a date (month must be in 1..12); use YYYY, YYYY-MM or YYYY-MM-DD."),
    (["events", "--db", "{db}", "--as-of", "someday"], {},
     "error: --as-of 'someday': use YYYY-MM-DD[ HH:MM] (UTC), now, today, yesterday, or an age such as 7d, 12h or 2w."),
    (["events", "--db", "{db}", "--type", "pact"], {}, "error: --type 'pact': use partnership or summit."),
    (["events", "--db", "{db}", "--format", "xml"], {},
     "error: --format 'xml': use table, csv, json or parquet (parquet needs --out)."),
    (["export", "--db", "{db}", "--out", "{d}/x", "--format", "xml"], {},
     "error: unknown export format 'xml': use parquet, csv or json"),
    (["alerts", "list", "--db", "{db}", "-f", "parquet"], {}, "error: --format 'parquet': use table, csv or json."),
    (["alerts", "list", "--db", "{db}", "--status", "bogus"], {}, "error: --status 'bogus': use pending, sent or skipped."),
    (["alerts", "retry", "--db", "{d}/missing.duckdb"], {},
     "error: No database at {d}/missing.duckdb. Run `defwatch demo` or `defwatch ingest` first, or point --db / DEFWATCH_DB at an existing file."),
    (["reextract", "--db", "{d}/missing.duckdb"], {}, None),
    (["digest", "--db", "{db}", "--since", "soon"], {}, None),
    (["digest", "--db", "{db}", "--format", "pdf"], {}, "error: --format 'pdf': use md or html."),
    (["report", "--db", "{db}", "--since", "soon"], {}, None),
    (["extract", "{d}/missing.txt"], {}, "error: {d}/missing.txt: no such file."),
    (["extract"], {}, "error: Give either FILE or --jsonl DOCS.jsonl."),
    (["extract", "{d}/article.txt", "--published", "x"], {},
     "error: --published 'x' is not a date; use YYYY-MM-DD, YYYY-MM or YYYY."),
    (["eval", "{d}/dev-gold.jsonl"], {}, "error: {d}/dev-gold.jsonl: no such file. Give a gold file: defwatch eval FILE.jsonl"),
    (["eval", "{d}/full"], {}, "error: {d}/full: is a folder, not a file. Give a gold file: defwatch eval FILE.jsonl"),
    (["extract", "--jsonl", "{d}/full"], {}, "error: {d}/full: is a folder, not a file. Check the path and run again."),
    (["events", "--db", "{db}", "--until", "2025-02-30"], {},
     "error: --until '2025-02-30': not a date (day is out of range for month); use YYYY, YYYY-MM or YYYY-MM-DD."),
    (["eval", "{d}/bad.jsonl"], {}, "error: {d}/bad.jsonl:1: not JSON: Expecting value: line 1 column 1 (char 0). "
                                    "A gold file has one JSON object a line with \"id\", \"text\" and \"events\"."),
    (["check", "--db", "{d}/missing.duckdb"], {}, None),
    (["backup", "{d}/full", "--db", "{db}"], {}, None),
    (["restore", "{d}/full", "--db", "{d}/r.duckdb"], {}, None),
    (["feeds", "list", "--feeds", "{d}/missing.toml"], {}, None),
    (["feeds", "check", "--feeds", "{d}/missing.toml"], {}, None),
    (["ingest", "--db", "{d}/n.duckdb", "--feeds", "{d}/missing.toml"], {}, None),
    (["ingest", "--db", "{d}/n.duckdb", "--feeds", "{d}"], {}, None),
    (["demo", "--db", "{d}/n.duckdb", "--samples", "{d}/nothing"], {}, None),
    (["serve"], {}, "error: Give exactly one of --every (e.g. 15m) or --cron."),
    (["serve", "--every", "abc"], {}, "error: --every 'abc': use a number with a unit, such as 90s, 15m, 1h or 1d."),
    # Config: a misspelt key names the key, the file and the nearest valid key; a bad value is
    # reported before Prefect starts (the whole run takes well under Prefect's start-up).
    (["ingest", "--db", "{d}/n.duckdb"], {"DEFWATCH_CONFIG": "{d}/typo.toml"},
     "error: {d}/typo.toml: unknown setting 'fetch.concurency'. Did you mean 'fetch.concurrency'? Fix or remove it and run again."),
    (["feeds", "list", "--feeds", "{repo}/feeds.toml"], {"DEFWATCH_CONFIG": "{d}/typo-top.toml"},
     "error: {d}/typo-top.toml: unknown setting 'batchsize'. Did you mean 'batch_size'? Fix or remove it and run again."),
    (["ingest", "--db", "{d}/n.duckdb"], {"DEFWATCH_CONFIG": "{d}/bad-value.toml"},
     "error: Invalid settings (fetch.concurrency: Input should be greater than or equal to 1). Looked in: CLI flags, "
     "DEFWATCH_* environment variables, {d}/bad-value.toml."),
    (["reextract", "--db", "{db}"], {"DEFWATCH_CONFIG": "{d}/typo.toml"}, None),
    (["serve", "--every", "15m"], {"DEFWATCH_CONFIG": "{d}/typo.toml"}, None),
]


@pytest.mark.parametrize("args,env,expected", CASES, ids=[" ".join(c[0][:3]) + (" +config" if c[1] else "") for c in CASES])
def test_bad_input_is_one_line_and_exit_2(place, args, env, expected):
    fill = {"d": str(place), "db": str(place / "log.duckdb"), "repo": str(REPO)}
    args = [a.format(**fill) for a in args]
    out = defwatch(*args, cwd=place, env={k: v.format(**fill) for k, v in env.items()}, timeout=60)
    lines = out.stderr.splitlines()
    assert out.returncode == 2, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert out.stdout == ""
    if expected is not None:
        assert lines[0] == expected.format(**fill)
    assert not (place / "n.duckdb").exists()  # nothing was created by a refused run


def test_no_arguments_still_shows_the_help():
    out = defwatch()
    assert out.returncode == 0
    assert "Usage: defwatch [OPTIONS] COMMAND [ARGS]..." in out.stdout


def test_query_data_and_messages_are_printed_literally(tmp_path):
    db = tmp_path / "log.duckdb"
    demo_log(db)
    out = defwatch("query", "--db", str(db), "SELECT '[bold]x[/bold] :x: written as [] ''^{0,63}$''' AS t")
    assert out.returncode == 0, out.stderr
    assert "│ [bold]x[/bold] :x: written as [] '^{0,63}$' │" in out.stdout.splitlines()


@pytest.mark.parametrize("command", [["events"], ["eval"], ["ingest"], ["feeds", "list"], ["alerts", "list"], ["report"]])
def test_help_has_no_bool_placeholder_and_points_nowhere_outside_the_project(command):
    out = defwatch(*command, "--help")
    assert out.returncode == 0, out.stderr
    assert "<bool>" not in out.stdout and "../shared" not in out.stdout
    assert "--help  " in out.stdout  # the flag is listed, with nothing where a value would go


def test_report_since_all_means_all_time(tmp_path):
    db = tmp_path / "log.duckdb"
    demo_log(db)
    for since in ("all", "0d"):
        out = defwatch("report", "--db", str(db), "--since", since, "--out", str(tmp_path / "r.html"))
        assert out.returncode == 0, out.stderr
        assert out.stdout == f"wrote {tmp_path / 'r.html'}: 7 events (7 new, 1 changed), 11 parties\n"
    help_text = " ".join(defwatch("report", "--help").stdout.split())
    assert "Period: 12h, 30d, 2w …, or all (also 0d) for all time. [default: 30d]" in help_text.replace("│ ", "")

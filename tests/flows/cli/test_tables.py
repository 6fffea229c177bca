"""`events`, `alerts list` and `feeds list` on an 80-column terminal: every row's id, type,
parties and status visible, long text cut with an ellipsis, the left-out columns named, data
shown literally (never as Rich markup or emoji codes); --wide and --format csv give everything."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from tests.flows.cli.test_alerts import alert_log
from tests.support.cli import defwatch
from tests.support.db import query_rows
from tests.support.eventlog import T0, article, demo_log, ev, write_log
from warehouse.eventlog import ArticleExtraction

NARROW = {"COLUMNS": "80"}
MARKUP_EVIDENCE = "[bold]Narnia[/bold] and [link=http://evil.example]Oz[/link] signed :x: a pact [/x]."


def _log_with_markup(db):
    demo_log(db)
    when = T0 + timedelta(days=40)
    e = ev("partnership", ["[red]Narnia[/red]", "Oz :x:"], "signed", "2025-07-20", MARKUP_EVIDENCE)
    write_log(db, [(when, [article("m1", "[b]x[/b]", "http://w.example/m1", when)],
                    [ArticleExtraction("m1", when, [e])])])


def _row_lines(stdout: str) -> list[str]:
    return [ln for ln in stdout.splitlines() if ln.startswith("│")]


def test_events_at_80_columns_show_id_type_parties_status_and_name_what_is_left_out(tmp_path):
    db = tmp_path / "log.duckdb"
    _log_with_markup(db)
    out = defwatch("events", "--db", str(db), env=NARROW)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert max(len(ln) for ln in lines[:-1]) <= 80  # the table; its count line is not wrapped
    assert lines[:5] == [
        "┏━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━┓",
        "┃ event_id         ┃ type        ┃ parties                   ┃ status      ┃",
        "┡━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━┩",
        "│ 7535b7435b6ffada │ summit      │ NATO                      │ planned     │",
        "│ 8fc36881ccf2385f │ partnership │ Oz :x:, [red]Narnia[/red] │ signed      │",
    ]
    events = query_rows(db, "SELECT event_id, type, status, array_to_string(parties, ', ') FROM events "
                            "WHERE retracted_at IS NULL")
    rows = _row_lines(out.stdout)
    for event_id, type_, status, parties in events:
        first = next(i for i, ln in enumerate(rows) if ln.startswith(f"│ {event_id} │"))
        assert f"│ {type_:<11} │" in rows[first]  # "partnership" whole, never letter by letter
        assert f"│ {status:<11} │" in rows[first]
        # parties wrap at word boundaries: the row's lines (until the next id) hold them in order
        cell_lines = [rows[first]] + [ln for ln in rows[first + 1:first + 4] if ln.startswith("│                  │")]
        shown = " ".join(ln.split("│")[3].strip() for ln in cell_lines).strip()
        assert shown == parties
    assert "\x1b" not in out.stdout  # literally: no colour, no emoji, as the lines above show
    assert lines[-1] == ("8 rows; not shown at 80 columns: date, location, reports, judged, evidence "
                         "(--wide or --format csv shows every column)")


def test_events_evidence_is_cut_with_an_ellipsis_at_100_columns_and_whole_with_wide(tmp_path):
    db = tmp_path / "log.duckdb"
    _log_with_markup(db)
    out = defwatch("events", "--db", str(db), "--party", "Oz :x:", env={"COLUMNS": "100"})
    assert out.returncode == 0, out.stderr
    row = _row_lines(out.stdout)[0]
    assert len(row) == 100 and row.endswith("│ 2025-07-20 │ [bold]Narnia[/b… │")
    wide = defwatch("events", "--db", str(db), "--party", "Oz :x:", "--wide", env=NARROW)
    assert f"│ {MARKUP_EVIDENCE} │" in wide.stdout
    assert wide.stdout.splitlines()[-1] == "1 row"
    as_csv = defwatch("events", "--db", str(db), "--party", "Oz :x:", "--format", "csv", env=NARROW)
    assert list(csv.DictReader(io.StringIO(as_csv.stdout)))[0]["evidence"] == MARKUP_EVIDENCE


def test_alerts_list_at_80_columns(tmp_path):
    db = tmp_path / "alerts.duckdb"
    ids = alert_log(db)
    out = defwatch("alerts", "list", "--db", str(db), env=NARROW)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "┏━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━━┳━━━━━━━━━┓",
        "┃ alert_id         ┃ kind               ┃ parties     ┃ event_status ┃ status  ┃",
        "┡━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━━╇━━━━━━━━━┩",
        f"│ {ids['ai']} │ partnership.new    │ Australia,  │ signed       │ sent    │",
        "│                  │                    │ Indonesia   │              │         │",
        f"│ {ids['jp']} │ partnership.status │ Japan,      │ signed       │ pending │",
        "│                  │                    │ Philippines │              │         │",
        f"│ {ids['jp']} │ partnership.status │ Japan,      │ signed       │ pending │",
        "│                  │                    │ Philippines │              │         │",
        "└──────────────────┴────────────────────┴─────────────┴──────────────┴─────────┘",
        "3 rows; not shown at 80 columns: channel, attempts, last_error, next_attempt_at, sent_at "
        "(--wide or --format csv shows every column)",
    ]
    wide = defwatch("alerts", "list", "--db", str(db), "--wide", env=NARROW)
    assert "│ HTTP 503 from the receiver │" in wide.stdout


def test_feeds_list_at_80_columns_shows_the_database_feeds_and_the_registry_it_read(tmp_path):
    db = tmp_path / "log.duckdb"
    demo_log(db)
    registry = tmp_path / "feeds.toml"
    registry.write_text('[[feed]]\nname = "wire"\nurl = "https://wire.example/[bold]rss[/bold]"\n'
                        'tags = [":x:"]\n', encoding="utf-8")
    out = defwatch("feeds", "list", "--db", str(db), "--feeds", str(registry), env=NARROW)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert max(len(ln) for ln in lines[:-1]) <= 80  # the table; its count line is not wrapped
    known = sorted(r[0] for r in query_rows(db, "SELECT feed_name FROM feed_state"))
    for name in known:
        assert any(ln.startswith(f"│ {name} ") for ln in lines), name
    text = " ".join(out.stdout.split())
    assert text.startswith(f"1 feeds in registry {registry}; database {db}: 2 feeds ┏"), text
    assert text.endswith(f"2 feeds; 1 feeds in the database are not in {registry} (ingested from another registry; "
                         f"pass it with --feeds); not shown at 80 columns: failures, next attempt, events, last new article, enabled, tags, url "
                         f"(--wide or --format csv shows every column)")
    wide = defwatch("feeds", "list", "--db", str(db), "--feeds", str(registry), "--wide", env=NARROW)
    assert "https://wire.example/[bold]rss[/bold]" in wide.stdout and "│ :x:" in wide.stdout


def test_the_run_summary_says_what_deliveries_count():
    """38 new alerts sent to two channels are 76 deliveries: the summary says what it counts."""
    import subprocess
    import sys

    from tests.conftest import REPO

    code = ("from pathlib import Path; from flows.cli.output import print_run; "
            "print_run({'run_id': 'r1', 'status': 'completed', 'alerts_new': 38, 'alerts_sent': 76}, Path('x.duckdb'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         env={"COLUMNS": "80", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "│ alerts new                                    │ 38 │" in lines
    assert "│   deliveries sent (one per alert and channel) │ 76 │" in lines
    assert "│   deliveries failed (retried next run)        │  0 │" in lines

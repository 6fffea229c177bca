"""`defwatch events` filters as people type them: party aliases, relative --as-of times, and a
sentence saying why when nothing matches."""

from __future__ import annotations

import csv
import io

from tests.support.cli import defwatch
from tests.support.eventlog import demo_log


def _parties(stdout: str) -> list[str]:
    return sorted(r["parties"] for r in csv.DictReader(io.StringIO(stdout)))


def test_party_takes_an_alias(tmp_path):
    db = tmp_path / "log.duckdb"
    demo_log(db)
    by_alias = defwatch("events", "--db", str(db), "--party", "EU", "--format", "csv")
    by_name = defwatch("events", "--db", str(db), "--party", "European Union", "--format", "csv")
    assert by_alias.returncode == 0, by_alias.stderr
    assert _parties(by_alias.stdout) == _parties(by_name.stdout) == ["Canada|European Union", "European Union|Japan"]


def test_as_of_takes_relative_times(tmp_path):
    db = tmp_path / "log.duckdb"
    demo_log(db)  # learned in 2025: a week ago, everything was known
    for when in ("7d", "yesterday", "today", "now", "12h", "2w"):
        out = defwatch("events", "--db", str(db), "--as-of", when, "--format", "csv")
        assert out.returncode == 0, (when, out.stderr)
        assert len(list(csv.DictReader(io.StringIO(out.stdout)))) == 7, when


def test_an_as_of_before_the_log_says_when_the_log_starts(tmp_path):
    db = tmp_path / "log.duckdb"
    demo_log(db)
    out = defwatch("events", "--db", str(db), "--as-of", "2020-01-01")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "0 rows"
    assert out.stderr == ("No events: --as-of 2020-01-01 00:00 UTC is before the log starts (2025-06-01 12:00 UTC); "
                          "--as-of shows the log as defwatch knew it then.\n")


def test_an_unknown_party_is_named(tmp_path):
    db = tmp_path / "log.duckdb"
    demo_log(db)
    out = defwatch("events", "--db", str(db), "--party", "Narnia")
    assert out.returncode == 0, out.stderr
    assert out.stderr == ("No events: no event in the log names 'Narnia' as a party (a party is named as "
                          "`defwatch events` shows it, or by an alias such as EU).\n")
    other = defwatch("events", "--db", str(db), "--party", "EU", "--status", "cancelled")
    assert other.stderr == "No events match these filters (the log covers what defwatch learned from 2025-06-01 to 2025-06-29).\n"

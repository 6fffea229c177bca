"""`defwatch digest` as a user runs it, on a real database: the exact Markdown it prints."""

from __future__ import annotations

import re

from tests.support.cli import defwatch
from tests.support.eventlog import demo_log

# Every event of the demo log, all learned within the period asked for (two years back from today):
# each is new in it, the one that changed status too.
ALL_NEW = """
7 new events, 0 changed.

## New

- **partnership: Japan, Philippines — signed, 2025-07-08, Manila (status planned → signed; date 2025-07 → 2025-07-08; location ∅ → Manila) [2 reports]**
  > Japan and the Philippines signed the reciprocal access agreement in Manila.
- **partnership: Australia, Indonesia — signed, 2025-06-28, Canberra [1 reports]**
  > Australia and Indonesia signed a defence cooperation treaty in Canberra.
- **partnership: Canada, European Union — signed, 2025-06-23, Brussels [1 reports]**
  > Canada and the European Union signed a Security and Defence Partnership in Brussels.
- **partnership: Poland, South Korea — negotiating, 2025-04 [1 reports]**
  > Poland and South Korea are negotiating a second executive contract.
- **partnership: Chad, France — cancelled, 2024-11-28 [1 reports]**
  > Chad ended its defence cooperation agreement with France.
- **summit: NATO — planned, 2026-07-07, Ankara [1 reports]**
  > NATO leaders will meet in Ankara on 7 July 2026.
- **summit: European Union, Japan — held, 2025-05-23, Tokyo [1 reports]**
  > The EU-Japan summit was held in Tokyo on 23 May.

"""
TITLE = re.compile(r"# defwatch digest: \d{4}-\d\d-\d\d \d\d:\d\d to \d{4}-\d\d-\d\d \d\d:\d\d UTC")


def test_digest_prints_the_period_as_markdown(tmp_path):
    db = tmp_path / "digest.duckdb"
    demo_log(db)
    out = defwatch("digest", "--db", str(db), "--since", "104w")
    assert out.returncode == 0, out.stderr
    title, rest = out.stdout.split("\n", 1)
    assert TITLE.fullmatch(title), title  # from now back over the period: the clock's, not the data's
    assert rest == ALL_NEW


def test_digest_of_a_quiet_period_says_so(tmp_path):
    db = tmp_path / "digest.duckdb"
    demo_log(db)  # everything in it was learned in 2025
    out = defwatch("digest", "--db", str(db), "--since", "1h")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n", 1)[1] == "\n0 new events, 0 changed.\n\nNothing new or changed in this period.\n"


def test_digest_writes_html_to_a_file(tmp_path):
    db, page = tmp_path / "digest.duckdb", tmp_path / "digest.html"
    demo_log(db)
    out = defwatch("digest", "--db", str(db), "--since", "1h", "--format", "html", "--out", str(page))
    assert out.returncode == 0, out.stderr
    assert (out.stdout, out.stderr.strip()) == ("", f"wrote {page}")
    assert page.read_text(encoding="utf-8").endswith(
        "<p>0 new events, 0 changed.</p><p>Nothing new or changed in this period.</p></body></html>\n")

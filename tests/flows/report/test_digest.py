"""The digest of a period, rendered from a real event log at a fixed time: the exact Markdown and HTML."""

from __future__ import annotations

from datetime import timedelta

from flows.report.digest import render_digest
from tests.support.eventlog import NOW, demo_log

WEEK_MD = """# defwatch digest: 2025-06-24 12:00 to 2025-07-01 12:00 UTC

1 new events, 1 changed.

## New

- **partnership: Australia, Indonesia — signed, 2025-06-28, Canberra [1 reports]**
  > Australia and Indonesia signed a defence cooperation treaty in Canberra.

## Changed

- **partnership: Japan, Philippines — signed, 2025-07-08, Manila (status planned → signed; date 2025-07 → 2025-07-08; location ∅ → Manila) [2 reports]**
  > Japan and the Philippines signed the reciprocal access agreement in Manila.

"""


def test_a_week_of_the_log_as_markdown(tmp_path):
    db = tmp_path / "log.duckdb"
    demo_log(db)  # a pact learned two days before NOW, another pact's status changed three days before
    assert render_digest(db, timedelta(days=7), "md", now=NOW) == WEEK_MD


def test_a_week_of_the_log_as_html_escapes_and_restricts(tmp_path):
    db = tmp_path / "log.duckdb"
    demo_log(db)
    title = "defwatch digest: 2025-06-24 12:00 to 2025-07-01 12:00 UTC"
    assert render_digest(db, timedelta(days=7), "html", now=NOW) == (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"</head><body><h1>{title}</h1><p>1 new events, 1 changed.</p>"
        "<h2>New</h2><ul><li><strong>partnership: Australia, Indonesia — signed, 2025-06-28, Canberra [1 reports]"
        "</strong><blockquote>Australia and Indonesia signed a defence cooperation treaty in Canberra.</blockquote>"
        "</li></ul><h2>Changed</h2><ul><li><strong>partnership: Japan, Philippines — signed, 2025-07-08, Manila "
        "(status planned → signed; date 2025-07 → 2025-07-08; location ∅ → Manila) [2 reports]</strong>"
        "<blockquote>Japan and the Philippines signed the reciprocal access agreement in Manila.</blockquote>"
        "</li></ul></body></html>\n")


def test_a_quiet_day_says_so(tmp_path):
    db = tmp_path / "log.duckdb"
    demo_log(db)
    assert render_digest(db, timedelta(days=1), "md", now=NOW) == (
        "# defwatch digest: 2025-06-30 12:00 to 2025-07-01 12:00 UTC\n\n0 new events, 0 changed.\n\n"
        "Nothing new or changed in this period.\n")

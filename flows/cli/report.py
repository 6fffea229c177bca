"""Commands for analysts: the digest of a period and the HTML report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from flows.cli.options import DbOption
from flows.cli.output import console, err, errors_are_messages
from flows.errors import BadInput


@errors_are_messages
def digest(
    db: DbOption = Path("defwatch.duckdb"),
    since: Annotated[str, typer.Option(help="Period: 12h, 7d, 2w …")] = "7d",
    fmt: Annotated[str, typer.Option("--format", "-f", help="md or html.")] = "md",
    out: Annotated[Optional[Path], typer.Option(help="Write to this file instead of the terminal.")] = None,
) -> None:
    """Summarise the events that were new or changed in the period (learned by defwatch then)."""
    from flows.report.digest import render_digest
    from flows.periods import parse_period

    if fmt not in ("md", "html"):
        raise BadInput(f"--format {fmt!r}: use md or html.")
    text = render_digest(db, parse_period(since), fmt)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        err.print(f"wrote {out}")


@errors_are_messages
def report(
    db: DbOption = Path("defwatch.duckdb"),
    since: Annotated[str, typer.Option(help="Period: 12h, 30d, 2w …, or all (also 0d) for all time.")] = "30d",
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
) -> None:
    """Write a self-contained HTML report: timeline, partnership network, events with evidence."""
    from flows.periods import parse_period
    from flows.report.html import render_report

    all_time = since.strip().lower() in ("", "all", "0", "0d", "0h", "0w")
    s = render_report(db, None if all_time else parse_period(since), out)
    console.print(f"wrote {s.out}: {s.events} events ({s.new_events} new, {s.changed_events} changed), "
                  f"{s.parties} parties" + (" — nothing yet" if s.empty else ""))

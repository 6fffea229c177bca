"""Commands over the event log: query (any read-only SQL), events (the common questions), export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from flows.cli.options import DbOption, FormatOption, WideOption
from flows.cli.output import TABLE_MAX_ROWS, console, err, errors_are_messages, print_result
from flows.errors import BadInput


@errors_are_messages
def query(
    sql: Annotated[str, typer.Argument(help="One SQL statement (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE).")],
    db: DbOption = Path("defwatch.duckdb"),
    fmt: FormatOption = "table",
    out: Annotated[Optional[Path], typer.Option(help="Write to this file instead of the terminal.")] = None,
    max_rows: Annotated[int, typer.Option(
        "--max-rows", help="Most rows a table on the terminal shows (0 = all); the rest are counted. "
                           "csv, json, parquet and --out get every row.")] = TABLE_MAX_ROWS,
    wide: WideOption = False,
) -> None:
    """Run SQL on a read-only connection: a statement that writes is refused.

    Tables: events, event_mentions, event_history, articles, article_feeds, feeds, feed_state,
    runs, run_errors. Views: partnerships, summits; table macros: events_new_since(ts),
    events_as_of(ts). While an ingest runs, a query waits for its current batch write (seconds).
    """
    from warehouse import query as wq

    if fmt == "parquet":
        if out is None:
            raise BadInput("--format parquet needs --out FILE.parquet")
        n = wq.write_parquet(db, sql, out)
        err.print(f"wrote {n} rows to {out}")
        return
    shown = max_rows if (fmt == "table" and out is None and max_rows > 0) else None
    print_result(wq.run_query(db, sql, max_rows=shown), fmt, out, wide=wide)

@errors_are_messages
def events(
    db: DbOption = Path("defwatch.duckdb"),
    type_: Annotated[Optional[str], typer.Option("--type", help="partnership or summit.")] = None,
    party: Annotated[Optional[list[str]], typer.Option("--party", help="Party name or alias (EU, UK …); repeat for several (all must take part).")] = None,
    status: Annotated[Optional[str], typer.Option(help="e.g. signed, planned, negotiating, held, cancelled.")] = None,
    since: Annotated[Optional[str], typer.Option(help="Events dated on or after YYYY[-MM[-DD]].")] = None,
    until: Annotated[Optional[str], typer.Option(help="Events dated on or before YYYY[-MM[-DD]].")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Show the log as defwatch knew it at this time: YYYY-MM-DD[ HH:MM] (UTC), "
             "today, yesterday, or an age such as 7d or 12h. Each event's status, date, place and number of reports "
             "then; the evidence shown is the event's current one.")] = None,
    limit: Annotated[int, typer.Option(help="Most rows to show (0 = all).")] = 100,
    fmt: FormatOption = "table",
    out: Annotated[Optional[Path], typer.Option(help="Write to this file instead of the terminal.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Also show events the analyst rejected or merged into another (marked in `judged`).")] = False,
    wide: WideOption = False,
) -> None:
    """List events, newest event date first, with filters for the common questions."""
    from warehouse import query as wq

    if type_ and type_ not in ("partnership", "summit"):
        raise BadInput(f"--type {type_!r}: use partnership or summit.")
    if fmt not in ("table", "csv", "json", "parquet"):
        raise BadInput(f"--format {fmt!r}: use table, csv, json or parquet (parquet needs --out).")
    since = _partial_date(since, "since", start=True)
    until = _partial_date(until, "until", start=False)
    moment = None
    if as_of is not None:
        from datetime import datetime, timezone

        from flows.periods import parse_moment

        moment = parse_moment(as_of, datetime.now(timezone.utc))
    parties = _canonical_parties(party or [])
    columns = wq.EVENT_TABLE_COLUMNS if fmt == "table" else wq.EVENT_LIST_COLUMNS
    sql, params = wq.events_sql(type_, parties, status, since, until, moment.isoformat() if moment else None,
                                limit or None, columns, all_)
    if fmt == "parquet":
        if out is None:
            raise BadInput("--format parquet needs --out FILE.parquet")
        n = wq.write_parquet(db, sql, out, params)
        err.print(f"wrote {n} rows to {out}")
        return
    res = wq.run_query(db, sql, params)
    print_result(res, fmt, out, wide=wide)
    if not res.rows and fmt == "table" and out is None:
        err.print(_why_nothing(db, moment, parties, party or []), soft_wrap=True)


def _canonical_parties(names: list[str]) -> list[str]:
    """Each --party as the log names it: the extractor's aliases (EU -> European Union) apply."""
    if not names:
        return []
    from extractors.rules import get_rules

    rules = get_rules()
    return [rules.canonical(n) for n in names]


def _why_nothing(db: Path, moment, parties: list[str], given: list[str]) -> str:
    """Why a filter matched no event: the log's first and last learning, parties it never saw."""
    from warehouse.query import log_span

    first, last, unknown = log_span(db, parties)
    if first is None:
        return "No events: the log holds none yet (run `defwatch demo` or `defwatch ingest`)."
    from datetime import timezone

    first, last = first.astimezone(timezone.utc), last.astimezone(timezone.utc)
    if moment is not None and moment < first:
        return (f"No events: --as-of {moment:%Y-%m-%d %H:%M} UTC is before the log starts "
                f"({first:%Y-%m-%d %H:%M} UTC); --as-of shows the log as defwatch knew it then.")
    if unknown:
        names = ", ".join(repr(g) for g, p in zip(given, parties) if p in unknown)
        return (f"No events: no event in the log names {names} as a party (a party is named as `defwatch events` "
                f"shows it, or by an alias such as EU).")
    return (f"No events match these filters (the log covers what defwatch learned from "
            f"{first:%Y-%m-%d} to {last:%Y-%m-%d}).")


def _partial_date(value: Optional[str], name: str, start: bool) -> Optional[str]:
    """YYYY, YYYY-MM or YYYY-MM-DD, widened to the first (start) or last day it can mean."""
    if value is None:
        return None
    import calendar
    import re as _re

    m = _re.fullmatch(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", value.strip())
    if not m:
        raise BadInput(f"--{name} {value!r}: use YYYY, YYYY-MM or YYYY-MM-DD.")
    y, mo, d = int(m.group(1)), m.group(2), m.group(3)
    import datetime as _dt

    try:
        _dt.date(y, int(mo or 1), int(d or 1))
    except ValueError as exc:
        raise BadInput(f"--{name} {value!r}: not a date ({exc}); use YYYY, YYYY-MM or YYYY-MM-DD.") from None
    if d:
        return f"{y:04d}-{int(mo):02d}-{int(d):02d}"
    if mo:
        last = calendar.monthrange(y, int(mo))[1]
        return f"{y:04d}-{int(mo):02d}-{1 if start else last:02d}"
    return f"{y:04d}-01-01" if start else f"{y:04d}-12-31"

@errors_are_messages
def export(
    out: Annotated[Path, typer.Option(help="Folder to write events, event_mentions and event_history into.")],
    db: DbOption = Path("defwatch.duckdb"),
    fmt: Annotated[str, typer.Option("--format", "-f", help="parquet, csv or json.")] = "parquet",
) -> None:
    """Export the event log (events, mentions, history) as files other tools read."""
    from warehouse import query as wq

    if fmt not in ("parquet", "csv", "json"):
        raise BadInput(f"unknown export format {fmt!r}: use parquet, csv or json")

    for table, path in wq.export(db, out, fmt).items():
        console.print(f"{table:<15} -> {path}")

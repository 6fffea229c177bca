"""Everything the CLI prints: tables, run summaries, progress bars and one-line errors."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.text import Text

from flows.errors import BadInput, DefwatchError

# Everything printed is printed literally: feed titles, page text, paths, SQL and error messages
# may hold "[bold]", "[/x]" or ":x:", and none of it is Rich markup, an emoji code or something
# to colour. Styles are given as Text objects where this module wants them.
console = Console(markup=False, emoji=False, highlight=False)
err = Console(stderr=True, markup=False, emoji=False, highlight=False)


def say_error(message: str) -> None:
    """``error: MESSAGE`` on stderr, on one line, the message exactly as it is."""
    err.print(Text.assemble(("error:", "bold red"), " ", str(message)), soft_wrap=True)


def fail(exc: DefwatchError | Exception, code: int = 1) -> None:
    say_error(str(exc))
    raise typer.Exit(getattr(exc, "exit_code", code))


def _os_error_message(exc: OSError) -> str:
    """A file the user named is missing, a folder, unreadable …: the path, what is wrong, what to do."""
    name = exc.filename if exc.filename is not None else ""
    what = {FileNotFoundError: "no such file", IsADirectoryError: "is a folder, not a file",
            PermissionError: "permission denied", NotADirectoryError: "a part of the path is not a folder",
            FileExistsError: "already exists"}.get(type(exc), exc.strerror or type(exc).__name__)
    return f"{name}: {what}. Check the path and run again." if name else f"{what}. Check the paths given and run again."


def errors_are_messages(fn):
    """Turn defwatch's own errors into a one-line message and a non-zero exit, not a traceback."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from warehouse.db import WarehouseError

        try:
            return fn(*args, **kwargs)
        except (DefwatchError, WarehouseError) as exc:
            fail(exc)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError, FileExistsError) as exc:
            # A path the user gave that is not what the command needs: bad input, exit 2.
            fail(BadInput(_os_error_message(exc)))

    return wrapper

class RichReporter:
    """Progress bars for the stages the pipeline reports."""

    LABELS = {"prefect": "starting Prefect", "feeds": "polling feeds", "pages": "fetching pages", "clean": "cleaning pages",
              "store": "storing"}

    def __init__(self, progress):
        self.progress = progress
        self.tasks: dict[str, int] = {}

    def start(self, stage: str, total: int) -> None:
        if total <= 0:
            return
        self.tasks[stage] = self.progress.add_task(self.LABELS.get(stage, stage), total=total)

    def advance(self, stage: str, n: int = 1) -> None:
        if stage in self.tasks:
            self.progress.advance(self.tasks[stage], n)

@contextlib.contextmanager
def flow_progress():
    """Progress bars for the stages a flow reports (on a terminal), and no flow heartbeats."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from flows.runtime import progress as prog
    from flows.runtime.prefect_env import quiet_heartbeats

    columns = [TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=err, disable=not err.is_terminal) as bars, quiet_heartbeats():
        prog.set_reporter(RichReporter(bars))
        try:
            yield
        finally:
            prog.set_reporter(None)

def print_run(summary: dict, db: Path) -> None:
    from rich.table import Table

    t = Table(title=f"run {summary.get('run_id')} — {summary.get('status')}", show_header=False)
    t.add_column("what")
    t.add_column("count", justify="right")
    rows = [
        ("feeds polled", "feeds_due"), ("  new content", "feeds_ok"), ("  not modified (304)", "feeds_not_modified"),
        ("  failed", "feeds_failed"), ("entries in feeds", "entries_seen"),
        ("articles already stored (not fetched)", "articles_known"), ("pages fetched", "pages_fetched"),
        ("pages failed", "pages_failed"), ("new articles stored", "articles_new"),
        ("  syndicated copies linked", "duplicates"), ("  text from feed (page unusable)", "fallbacks"),
        ("events new", "events_new"), ("event reports (mentions) new", "mentions_new"),
        ("alerts new", "alerts_new"), ("  deliveries sent (one per alert and channel)", "alerts_sent"),
        ("  deliveries failed (retried next run)", "alerts_failed"),
        ("errors recorded", "errors"),
    ]
    for label, key in rows:
        t.add_row(label, str(summary.get(key) or 0))
    console.print(t)
    if summary.get("errors"):
        from warehouse.reports import run_errors_statement

        console.print(f"Errors are in the run_errors table: "
                      f"defwatch query --db {db} \"{run_errors_statement(summary.get('run_id'))}\"", soft_wrap=True)

def emit_summary(summary: dict, db: Path, json_out: bool) -> None:
    if json_out:
        console.print_json(json.dumps(summary, default=str))
    else:
        print_run(summary, db)
    if summary.get("status") != "completed":
        raise typer.Exit(1)

def print_articles(db: Path, run_id: str | None) -> None:
    from rich.table import Table

    from warehouse.reports import article_overview

    rows = article_overview(db)
    t = Table(title=f"{len(rows)} articles in {db}")
    for col in ("feed", "title", "text from", "chars", "copy", "published"):
        t.add_column(col, overflow="ellipsis", no_wrap=col != "title")
    for feed, title, source, chars, dup, pub in rows:
        t.add_row(feed, (title or "")[:70], source, str(chars or "—"), "yes" if dup else "", pub or "")
    console.print(t)

# A terminal table of more rows is read by nobody, and making Python objects of every row is most
# of a large query's time (18,000 rows: ~200 ms of fetching against 25 ms of SQL). The DuckDB
# shell shows 40 by default.
TABLE_MAX_ROWS = 100


def print_result(res, fmt: str, out: Optional[Path], title: str | None = None, wide: bool = False) -> None:
    from warehouse import query as wq

    if fmt == "csv":
        text = wq.to_csv(res)
    elif fmt == "json":
        text = wq.to_json(res) + "\n"
    elif fmt == "table":
        t, hidden = fit_table(res.columns, [[_cell(v) for v in row] for row in res.rows], title,
                              width=None if out is None else 200, wide=wide)
        if out is None:
            print_table(t, wide)
            n = res.row_count
            more = (f" (the first {len(res.rows):,} shown: --max-rows 0 shows all, --format csv or --out "
                    f"writes all)") if res.truncated else ""
            console.print(f"{n:,} row{'s' if n != 1 else ''}{more}{hidden_note(hidden)}", style="dim", soft_wrap=True)
            return
        buf = io.StringIO()
        Console(file=buf, width=200, markup=False, emoji=False, highlight=False).print(t)
        text = buf.getvalue()
    else:
        raise BadInput(f"--format {fmt!r}: use table, csv or json.")
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        err.print(f"wrote {len(res.rows)} rows to {out}")


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        return ", ".join(map(str, v))
    if isinstance(v, float):
        return f"{v:.2f}"
    if hasattr(v, "strftime"):
        return v.strftime("%Y-%m-%d %H:%M") if hasattr(v, "hour") else v.isoformat()
    return str(v)


# -- tables that fit the terminal -------------------------------------------------------------------
# Columns by priority: 0 are always shown (what a row is: its id, type, parties, status); the rest
# are dropped from the highest number down until the table fits, and the rows' count line names
# what was left out. Long text (evidence, errors, URLs) is cut to one line with an ellipsis.
_PRIORITY = {
    "event_id": 0, "alert_id": 0, "name": 0, "type": 0, "kind": 0, "parties": 0, "status": 0,
    "event_status": 0, "health": 0, "channel": 1, "evidence": 2, "last_error": 2, "date": 1,
    "title": 1, "url": 2, "last status": 2, "failures": 3, "next attempt": 4, "sent_at": 3,
    "attempts": 4, "reports": 4, "location": 3, "enabled": 3, "tags": 5, "next_attempt_at": 5,
    "articles": 1, "last fetched": 3, "in registry": 1, "events": 3, "last new article": 4,
}
_LONG_TEXT = {"evidence", "text", "message", "url", "last_error", "title", "detail"}
_WRAPS = {"parties"}  # wrapped at word boundaries (never letter by letter)


def _min_width(col: str, cells: list[str], wraps: bool) -> int:
    natural = max([len(col), *(len(c) for c in cells)]) if cells else len(col)
    if col in _LONG_TEXT:
        return min(natural, 16)
    if wraps:
        longest_word = max([len(col), *(len(w) for c in cells for w in c.replace(",", " ").split())])
        return min(natural, max(min(longest_word, 24), 10))
    return natural  # ids, types, statuses, dates, counts: never wrapped, never cut


def fit_table(columns: list[str], rows: list[list[str]], title: str | None = None,
              width: int | None = None, wide: bool = False):
    """A Rich table of ``rows`` (strings, shown literally) that fits ``width`` (the terminal's):
    columns of low priority are left out first; returns (table, names of the left-out columns)."""
    from rich.table import Table

    width = width or console.width
    cols = list(columns)
    cells = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
    natural = {c: max([len(c), *(len(x) for x in cells[c])]) for c in cols}
    # Parties wrap at word boundaries; so does a long column of a query that this module does not
    # know (rather than taking the whole width as one unbroken line).
    wraps = {c for c in cols if c in _WRAPS or (c not in _PRIORITY and c not in _LONG_TEXT and natural[c] > 24)}
    mins = {c: _min_width(c, cells[c], c in wraps) for c in cols}
    hidden: list[str] = []
    if not wide:
        while len(cols) > 1 and sum(mins[c] for c in cols) + 3 * len(cols) + 1 > width:
            droppable = [c for c in cols if _PRIORITY.get(c, 3) > 0]
            if not droppable:
                break
            worst = max(droppable, key=lambda c: (_PRIORITY.get(c, 3), cols.index(c)))
            cols.remove(worst)
            hidden.append(worst)
    # Widths given outright: what fits is shared out here, so Rich never has to squeeze a column
    # (it would squeeze the wrapping ones to nothing before cutting a long one).
    extra = width - (sum(mins[c] for c in cols) + 3 * len(cols) + 1)
    widths = dict(mins)
    for group in ([c for c in cols if c in wraps], [c for c in cols if c in _LONG_TEXT]):
        for i, c in enumerate(group):
            give = max(0, min(natural[c] - mins[c], extra // (len(group) - i))) if extra > 0 else 0
            widths[c] += give
            extra -= give
    t = Table(title=title, show_lines=False)
    for c in cols:
        if wide:
            t.add_column(c, no_wrap=True)
        elif c in _LONG_TEXT:
            t.add_column(c, overflow="ellipsis", no_wrap=True, width=widths[c])
        elif c in wraps:
            t.add_column(c, overflow="fold", width=widths[c])
        else:
            t.add_column(c, no_wrap=True, min_width=mins[c])
    index = [columns.index(c) for c in cols]
    for r in rows:
        t.add_row(*[r[i] for i in index])
    return t, [h for h in columns if h in hidden]


def hidden_note(hidden: list[str]) -> str:
    if not hidden:
        return ""
    return f"; not shown at {console.width} columns: {', '.join(hidden)} (--wide or --format csv shows every column)"


def print_fitted(columns: list[str], rows: list[list[str]], title: str, count: str, wide: bool) -> None:
    """A fitted table on stdout and, under it, its count and the columns it left out."""
    # The title is text of its own, wrapped at the terminal's width between words: as the table's
    # title Rich would wrap it at the (narrower) table's width, breaking a long path in the middle.
    console.print(title)
    t, hidden = fit_table(columns, rows, None, wide=wide)
    print_table(t, wide)
    console.print(f"{count}{hidden_note(hidden)}", style="dim", soft_wrap=True)


def print_table(t, wide: bool = False) -> None:
    """``t`` on stdout at the terminal's width, or (--wide) as wide as its content needs."""
    if not wide:
        console.print(t)
        return
    from rich.measure import Measurement

    need = Measurement.get(console, console.options.update(max_width=100_000), t).maximum
    Console(markup=False, emoji=False, highlight=False, width=max(console.width, need)).print(t)

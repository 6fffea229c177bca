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

    LABELS = {"feeds": "polling feeds", "pages": "fetching pages", "clean": "cleaning pages",
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
        ("alerts new", "alerts_new"), ("alerts delivered", "alerts_sent"), ("alert deliveries failed", "alerts_failed"),
        ("errors recorded", "errors"),
    ]
    for label, key in rows:
        t.add_row(label, str(summary.get(key) or 0))
    console.print(t)
    if summary.get("errors"):
        from warehouse.reports import run_errors_statement

        console.print(f"Errors are in the run_errors table: "
                      f"defwatch query --db {db} \"{run_errors_statement(summary.get('run_id'))}\"")

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


def print_result(res, fmt: str, out: Optional[Path], title: str | None = None) -> None:
    from warehouse import query as wq

    if fmt == "csv":
        text = wq.to_csv(res)
    elif fmt == "json":
        text = wq.to_json(res) + "\n"
    elif fmt == "table":
        from rich.table import Table

        t = Table(title=title, show_lines=False)
        for c in res.columns:
            if c in ("evidence", "text", "message", "url"):
                t.add_column(c, overflow="ellipsis", no_wrap=True, max_width=max(20, console.width // 3))
            elif c.endswith("_id"):
                t.add_column(c, no_wrap=True)
            else:
                t.add_column(c, overflow="fold", min_width=min(len(c), 8))
        for row in res.rows:
            t.add_row(*[_cell(v) for v in row])
        if out is None:
            console.print(t)
            n = res.row_count
            more = (f" (the first {len(res.rows):,} shown: --max-rows 0 shows all, --format csv or --out "
                    f"writes all)") if res.truncated else ""
            console.print(f"{n:,} row{'s' if n != 1 else ''}{more}", style="dim")
            return
        buf = io.StringIO()
        with Console(file=buf, width=200) as c:
            c.print(t)
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

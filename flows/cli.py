"""The ``defwatch`` command: a thin shell over flows/, extractors/ and warehouse/.

Heavy libraries (Prefect, trafilatura) are imported inside the commands that need them, so
``defwatch --help`` stays fast.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import io
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from flows.errors import DefwatchError

app = typer.Typer(
    name="defwatch",
    help=(
        "Monitor defence news: fetch feeds, clean articles, detect partnership and summit events, "
        "and keep them in a DuckDB event log you query with SQL.\n\n"
        "Start with `defwatch demo` (bundled sample feeds on a local server, no internet needed)."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
feeds_app = typer.Typer(help="List the feed registry, or check that each feed answers and parses.",
                        no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")

console = Console()
err = Console(stderr=True)

DbOption = Annotated[
    Path,
    typer.Option("--db", envvar="DEFWATCH_DB", help="DuckDB file of the event log.", show_default=True),
]
FeedsOption = Annotated[
    Path,
    typer.Option("--feeds", envvar="DEFWATCH_FEEDS_FILE", help="Feed registry (TOML).", show_default=True),
]
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _fail(exc: DefwatchError | Exception, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(getattr(exc, "exit_code", code))


def _errors_are_messages(fn):
    """Turn defwatch's own errors into a one-line message and a non-zero exit, not a traceback."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from warehouse.db import WarehouseError

        try:
            return fn(*args, **kwargs)
        except (DefwatchError, WarehouseError) as exc:
            _fail(exc)

    return wrapper


# -- ingest ---------------------------------------------------------------------------------------

class _RichReporter:
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


NotifyOption = Annotated[
    Optional[list[str]],
    typer.Option("--notify", help="Also send this run's alerts to this apprise URL (repeatable), e.g. "
                                  "json://127.0.0.1:8080/hook, mailto://…, slack://…. Env: DEFWATCH_NOTIFY "
                                  "(space-separated)."),
]
MarkSeenOption = Annotated[bool, typer.Option("--mark-seen", help="Record this run's alerts as seen without sending them (first backfill).")]


def _set_notify(notify: Optional[list[str]]) -> None:
    """--notify URLs reach the flow through the environment, never as (stored) flow parameters."""
    if notify:
        os.environ["DEFWATCH_NOTIFY"] = " ".join(notify)


@contextlib.contextmanager
def _flow_progress():
    """Progress bars for the stages a flow reports (on a terminal), and no flow heartbeats."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from flows import progress as prog
    from flows.prefect_env import quiet_heartbeats

    columns = [TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=err, disable=not err.is_terminal) as bars, quiet_heartbeats():
        prog.set_reporter(_RichReporter(bars))
        try:
            yield
        finally:
            prog.set_reporter(None)


def _run_ingest(db: Path, feeds_file: Path, base_url: str | None, force: bool,
                overrides: dict | None = None, wait: float = 0.0, mark_seen: bool = False) -> dict:
    from flows.registry import load_feeds
    from flows.runlock import run_lock

    # Validate the registry before Prefect starts (and before the database is touched), and say
    # plainly if another run holds the database (the flow enforces the lock itself as well).
    load_feeds(feeds_file, base_url=base_url)
    with run_lock(db, wait_s=wait):
        pass
    from warehouse.db import ensure_writable_database
    ensure_writable_database(db)  # a damaged or foreign file, or a full disk: one line, before Prefect
    with console.status("starting Prefect (embedded server, first start takes ~10 s)…"):
        from flows.ingest import ingest_flow
    # Everything imported so far lives until exit: keep it out of every later garbage collection
    # (each full collection would walk Prefect's several hundred thousand objects again).
    gc.freeze()
    with _flow_progress():
        return ingest_flow(db=str(db), feeds_file=str(feeds_file), base_url=base_url, force=force,
                           settings_overrides=overrides, lock_wait_s=wait, mark_seen=mark_seen)


def _print_run(summary: dict, db: Path) -> None:
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
        console.print(f"Errors are in the run_errors table: "
                      f"defwatch query --db {db} \"select * from run_errors where run_id = '{summary.get('run_id')}'\"")


@app.command()
@_errors_are_messages
def ingest(
    db: DbOption = Path("defwatch.duckdb"),
    feeds: FeedsOption = Path("feeds.toml"),
    force: Annotated[bool, typer.Option(help="Poll every enabled feed now, even those not yet due.")] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for another ingest run on the same database.")] = 0.0,
    notify: NotifyOption = None,
    mark_seen: MarkSeenOption = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the run row as JSON.")] = False,
) -> None:
    """Poll the due feeds once, store new articles, and record the run.

    Feeds are polled with conditional GET; a feed that failed waits longer each time (never given up).
    Runs once and exits: for a schedule use `defwatch serve`.
    """
    _set_notify(notify)
    summary = _run_ingest(db, feeds, None, force, wait=wait, mark_seen=mark_seen)
    _emit_summary(summary, db, json_out)


def _emit_summary(summary: dict, db: Path, json_out: bool) -> None:
    if json_out:
        console.print_json(json.dumps(summary, default=str))
    else:
        _print_run(summary, db)
    if summary.get("status") != "completed":
        raise typer.Exit(1)


@app.command()
@_errors_are_messages
def demo(
    db: DbOption = Path("defwatch.duckdb"),
    samples: Annotated[Path, typer.Option(help="Folder with feeds.toml, feeds/ and articles/.")] = PROJECT_ROOT / "samples",
    notify: NotifyOption = None,
    mark_seen: MarkSeenOption = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the run row as JSON.")] = False,
) -> None:
    """Serve the bundled samples over HTTP on 127.0.0.1 (a free port), ingest them, print a summary.

    Offline and self-contained: the main job on the embedded default (a DuckDB file, no server).
    Run it twice: the second run stores nothing new and fetches no known article again.
    """
    from flows.sample_server import serve_directory

    feeds_file = samples / "feeds.toml"
    if not feeds_file.exists():
        raise DefwatchError(f"{feeds_file} not found: --samples must point at the samples folder.")
    _set_notify(notify)
    with serve_directory(samples) as server:
        err.print(f"serving {samples} at {server.base_url}")
        summary = _run_ingest(db, feeds_file, server.base_url, force=True, mark_seen=mark_seen)
    _emit_summary(summary, db, json_out)
    if not json_out:
        _print_articles(db, summary.get("run_id"))


def _print_articles(db: Path, run_id: str | None) -> None:
    from rich.table import Table

    from warehouse.db import read_connection

    with read_connection(db) as con:
        rows = con.execute(
            "SELECT feed_name, coalesce(title, url), text_source, length(text), duplicate_of IS NOT NULL, "
            "strftime(published, '%Y-%m-%d') FROM articles ORDER BY published DESC NULLS LAST, url"
        ).fetchall()
    t = Table(title=f"{len(rows)} articles in {db}")
    for col in ("feed", "title", "text from", "chars", "copy", "published"):
        t.add_column(col, overflow="ellipsis", no_wrap=col != "title")
    for feed, title, source, chars, dup, pub in rows:
        t.add_row(feed, (title or "")[:70], source, str(chars or "—"), "yes" if dup else "", pub or "")
    console.print(t)


# -- feeds ----------------------------------------------------------------------------------------

@feeds_app.command("list")
@_errors_are_messages
def feeds_list(
    feeds: FeedsOption = Path("feeds.toml"),
    db: DbOption = Path("defwatch.duckdb"),
) -> None:
    """Show the registry, with each feed's health from the database when there is one."""
    from datetime import datetime, timezone

    from rich.table import Table

    from flows.feedstate import health
    from flows.registry import load_feeds
    from flows.settings import load_settings

    registry = load_feeds(feeds)
    states: dict = {}
    if db.exists():
        from warehouse import store
        from warehouse.db import read_connection

        with read_connection(db) as con:
            states = store.load_feed_states(con)
    sched = load_settings().schedule
    now = datetime.now(timezone.utc)
    t = Table(title=f"{len(registry)} feeds in {feeds}")
    for col in ("name", "enabled", "tags", "health", "last status", "failures", "next attempt", "url"):
        t.add_column(col, overflow="fold" if col == "url" else "ellipsis")
    for f in registry:
        st = states.get(f.name)
        t.add_row(
            f.name, "yes" if f.enabled else "no", ",".join(f.tags), health(st, now, sched),
            str(st.get("last_status") or st.get("last_error_kind") or "") if st else "",
            str(st.get("consecutive_failures") or 0) if st else "",
            f"{st['next_attempt_at']:%Y-%m-%d %H:%M}" if st and st.get("next_attempt_at") else "",
            f.url,
        )
    console.print(t)


@feeds_app.command("check")
@_errors_are_messages
def feeds_check(
    feeds: FeedsOption = Path("feeds.toml"),
    all_feeds: Annotated[bool, typer.Option("--all", help="Check disabled feeds too.")] = False,
    db: DbOption = Path("defwatch.duckdb"),
) -> None:
    """Fetch each feed now and report whether it answers and parses (the database is not changed)."""
    from rich.table import Table

    from flows.fetch import FetchRequest, run_fetches
    from flows.parse import parse_feed
    from flows.registry import load_feeds
    from flows.settings import load_settings

    registry = [f for f in load_feeds(feeds) if all_feeds or f.enabled]
    settings = load_settings()
    with console.status(f"checking {len(registry)} feeds…"):
        results, _ = run_fetches(settings.fetch, [FetchRequest(url=f.url, key=f.name, trusted=f.trusted) for f in registry])
    t = Table(title=f"feed check: {feeds}")
    for col in ("name", "result", "HTTP", "entries", "time", "detail"):
        t.add_column(col, overflow="fold" if col == "detail" else "ellipsis")
    failed = 0
    for f, res in zip(registry, results):
        if res.ok:
            parsed = parse_feed(res.body, res.final_url, res.content_type)
            if parsed.error_kind:
                verdict, detail, failed = "[red]not a feed[/]", parsed.error, failed + 1
            elif parsed.warning:
                verdict, detail = "[yellow]ok, warning[/]", parsed.warning
            else:
                verdict, detail = "[green]ok[/]", parsed.version
            n = str(len(parsed.entries))
        else:
            verdict, detail, n, failed = f"[red]{res.error_kind}[/]", res.error or "", "", failed + 1
        t.add_row(f.name, verdict, str(res.status or ""), n, f"{res.elapsed_s:.1f}s", detail)
    console.print(t)
    if failed:
        err.print(f"{failed} of {len(registry)} feeds failed.")
        raise typer.Exit(1)


# -- serve ----------------------------------------------------------------------------------------

@app.command()
@_errors_are_messages
def serve(
    db: DbOption = Path("defwatch.duckdb"),
    feeds: FeedsOption = Path("feeds.toml"),
    every: Annotated[Optional[str], typer.Option(help="Interval such as 15m, 1h, 90s.")] = None,
    cron: Annotated[Optional[str], typer.Option(help="Cron schedule, e.g. '*/15 * * * *'.")] = None,
    port: Annotated[int, typer.Option(help="Port for a local Prefect server (when PREFECT_API_URL is unset).")] = 4200,
    notify: NotifyOption = None,
) -> None:
    """Run `ingest` on a schedule until Ctrl-C.

    Schedules need a real Prefect server: the one PREFECT_API_URL names, or else a local
    `prefect server start` that this command starts, waits for, and stops on exit. Runs show in
    the Prefect UI at that server's address.
    """
    from flows.serve import parse_interval, serve_ingest

    if (every is None) == (cron is None):
        raise DefwatchError("Give exactly one of --every (e.g. 15m) or --cron.")
    interval = parse_interval(every) if every else None
    _set_notify(notify)
    serve_ingest(db=db, feeds_file=feeds, interval_s=interval, cron=cron, port=port, console=err)


# -- the event log ---------------------------------------------------------------------------------

FormatOption = Annotated[str, typer.Option("--format", "-f", help="table, csv, json or parquet (parquet needs --out).")]


# A terminal table of more rows is read by nobody, and making Python objects of every row is most
# of a large query's time (18,000 rows: ~200 ms of fetching against 25 ms of SQL). The DuckDB
# shell shows 40 by default.
TABLE_MAX_ROWS = 100


def _print_result(res, fmt: str, out: Optional[Path], title: str | None = None) -> None:
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
        with Console(file=io.StringIO(), width=200) as c:
            c.print(t)
            text = c.file.getvalue()
    else:
        raise DefwatchError(f"--format {fmt!r}: use table, csv, json or parquet.")
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


@app.command()
@_errors_are_messages
def query(
    sql: Annotated[str, typer.Argument(help="One SQL statement (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE).")],
    db: DbOption = Path("defwatch.duckdb"),
    fmt: FormatOption = "table",
    out: Annotated[Optional[Path], typer.Option(help="Write to this file instead of the terminal.")] = None,
    max_rows: Annotated[int, typer.Option(
        "--max-rows", help="Most rows a table on the terminal shows (0 = all); the rest are counted. "
                           "csv, json, parquet and --out get every row.")] = TABLE_MAX_ROWS,
) -> None:
    """Run SQL on a read-only connection: a statement that writes is refused.

    Tables: events, event_mentions, event_history, articles, article_feeds, feeds, feed_state,
    runs, run_errors. Views: partnerships, summits; table macros: events_new_since(ts),
    events_as_of(ts). While an ingest runs, a query waits for its current batch write (seconds).
    """
    from warehouse import query as wq

    if fmt == "parquet":
        if out is None:
            raise DefwatchError("--format parquet needs --out FILE.parquet")
        n = wq.write_parquet(db, sql, out)
        err.print(f"wrote {n} rows to {out}")
        return
    shown = max_rows if (fmt == "table" and out is None and max_rows > 0) else None
    _print_result(wq.run_query(db, sql, max_rows=shown), fmt, out)


@app.command()
@_errors_are_messages
def events(
    db: DbOption = Path("defwatch.duckdb"),
    type_: Annotated[Optional[str], typer.Option("--type", help="partnership or summit.")] = None,
    party: Annotated[Optional[list[str]], typer.Option("--party", help="Canonical party name; repeat for several (all must take part).")] = None,
    status: Annotated[Optional[str], typer.Option(help="e.g. signed, planned, negotiating, held, cancelled.")] = None,
    since: Annotated[Optional[str], typer.Option(help="Events dated on or after YYYY[-MM[-DD]].")] = None,
    until: Annotated[Optional[str], typer.Option(help="Events dated on or before YYYY[-MM[-DD]].")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Show the log as it was known at this time (YYYY-MM-DD[ HH:MM]): each event's status, "
             "date, place and number of reports then. The evidence shown is the event's current one.")] = None,
    limit: Annotated[int, typer.Option(help="Most rows to show (0 = all).")] = 100,
    fmt: FormatOption = "table",
    out: Annotated[Optional[Path], typer.Option(help="Write to this file instead of the terminal.")] = None,
) -> None:
    """List events, newest event date first, with filters for the common questions."""
    from warehouse import query as wq

    if type_ and type_ not in ("partnership", "summit"):
        raise DefwatchError(f"--type {type_!r}: use partnership or summit.")
    since = _partial_date(since, "since", start=True)
    until = _partial_date(until, "until", start=False)
    columns = wq.EVENT_TABLE_COLUMNS if fmt == "table" else wq.EVENT_LIST_COLUMNS
    sql, params = wq.events_sql(type_, party or [], status, since, until, as_of, limit or None, columns)
    if fmt == "parquet":
        if out is None:
            raise DefwatchError("--format parquet needs --out FILE.parquet")
        n = wq.write_parquet(db, sql, out, params)
        err.print(f"wrote {n} rows to {out}")
        return
    _print_result(wq.run_query(db, sql, params), fmt, out)


def _partial_date(value: Optional[str], name: str, start: bool) -> Optional[str]:
    """YYYY, YYYY-MM or YYYY-MM-DD, widened to the first (start) or last day it can mean."""
    if value is None:
        return None
    import calendar
    import re as _re

    m = _re.fullmatch(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", value.strip())
    if not m:
        raise DefwatchError(f"--{name} {value!r}: use YYYY, YYYY-MM or YYYY-MM-DD.")
    y, mo, d = int(m.group(1)), m.group(2), m.group(3)
    if d:
        return f"{y:04d}-{int(mo):02d}-{int(d):02d}"
    if mo:
        last = calendar.monthrange(y, int(mo))[1]
        return f"{y:04d}-{int(mo):02d}-{1 if start else last:02d}"
    return f"{y:04d}-01-01" if start else f"{y:04d}-12-31"


@app.command()
@_errors_are_messages
def export(
    out: Annotated[Path, typer.Option(help="Folder to write events, event_mentions and event_history into.")],
    db: DbOption = Path("defwatch.duckdb"),
    fmt: Annotated[str, typer.Option("--format", "-f", help="parquet, csv or json.")] = "parquet",
) -> None:
    """Export the event log (events, mentions, history) as files other tools read."""
    from warehouse import query as wq

    for table, path in wq.export(db, out, fmt).items():
        console.print(f"{table:<15} -> {path}")


@app.command()
@_errors_are_messages
def reextract(
    db: DbOption = Path("defwatch.duckdb"),
    all_articles: Annotated[bool, typer.Option("--all", help="Re-read every article, not only those read by another rule-set version.")] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for another run on the same database.")] = 0.0,
) -> None:
    """Re-run the extractor on stored articles after a rule change; mentions and events are
    reconciled without duplicates and each change is kept in event_history."""
    from flows.runlock import run_lock
    from warehouse.db import read_connection

    with read_connection(db):
        pass
    with run_lock(db, wait_s=wait):
        pass
    with console.status("starting Prefect…"):
        from flows.reextract import reextract_flow
    with _flow_progress():
        totals = reextract_flow(db=str(db), all_articles=all_articles, lock_wait_s=wait)
    console.print(
        f"rule set {totals['ruleset_version']}: {totals['articles']} articles re-read, "
        f"{totals['events_created']} events created, {totals['mentions_added']} mentions added, "
        f"{totals['mentions_retracted']} retracted, {totals['changes']} event changes recorded."
    )


# -- alerts, digest, report -------------------------------------------------------------------------

alerts_app = typer.Typer(help="See alert deliveries, or force pending ones out now.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


@alerts_app.command("list")
@_errors_are_messages
def alerts_list(
    db: DbOption = Path("defwatch.duckdb"),
    status: Annotated[Optional[str], typer.Option(help="pending, sent or skipped.")] = None,
    limit: Annotated[int, typer.Option(help="Most rows to show (0 = all).")] = 50,
    fmt: FormatOption = "table",
) -> None:
    """Alerts and their deliveries, newest first: channel, status, attempts, last error."""
    from warehouse import query as wq

    sql = ("SELECT a.alert_id, a.kind, array_to_string(e.parties, ', ') AS parties, e.status AS event_status, "
           "d.channel_label AS channel, d.status, d.attempts, d.last_error, d.next_attempt_at, d.sent_at "
           "FROM alerts a JOIN alert_deliveries d USING (alert_id) JOIN events e USING (event_id)")
    params = []
    if status:
        sql += " WHERE d.status = ?"
        params.append(status)
    sql += " ORDER BY a.created_at DESC, a.alert_id, d.channel_key"
    if limit:
        sql += f" LIMIT {int(limit)}"
    _print_result(wq.run_query(db, sql, params), fmt, None)


@alerts_app.command("retry")
@_errors_are_messages
def alerts_retry(
    db: DbOption = Path("defwatch.duckdb"),
    notify: NotifyOption = None,
) -> None:
    """Deliver every pending alert now, ignoring backoff (configured channels and any --notify URL)."""
    from datetime import datetime, timezone

    from flows import alerting
    from flows.runlock import run_lock
    from flows.settings import load_settings
    from warehouse import alerts as walerts
    from warehouse.db import read_connection, transaction, write_connection

    with read_connection(db):
        pass
    settings = load_settings()
    chans = alerting.Channels.build(settings.alerts, notify or os.environ.get("DEFWATCH_NOTIFY", "").split())
    with run_lock(db):
        with write_connection(db) as con, transaction(con):
            walerts.make_due(con)
        report = alerting.deliver(db, chans, settings.alerts, datetime.now(timezone.utc))
    console.print(f"{report.sent} delivered, {report.failed} failed (still pending), "
                  f"{report.waiting} waiting for a --notify URL of an earlier run.")
    for e in report.errors[:10]:
        err.print(f"  {e}")
    if report.failed:
        raise typer.Exit(1)


@app.command()
@_errors_are_messages
def digest(
    db: DbOption = Path("defwatch.duckdb"),
    since: Annotated[str, typer.Option(help="Period: 12h, 7d, 2w …")] = "7d",
    fmt: Annotated[str, typer.Option("--format", "-f", help="md or html.")] = "md",
    out: Annotated[Optional[Path], typer.Option(help="Write to this file instead of the terminal.")] = None,
) -> None:
    """Summarise the events that were new or changed in the period (learned by defwatch then)."""
    from flows.digest import render_digest
    from flows.report import parse_period

    if fmt not in ("md", "html"):
        raise DefwatchError(f"--format {fmt!r}: use md or html.")
    text = render_digest(db, parse_period(since), fmt)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        err.print(f"wrote {out}")


@app.command()
@_errors_are_messages
def report(
    db: DbOption = Path("defwatch.duckdb"),
    since: Annotated[Optional[str], typer.Option(help="Period: 12h, 30d, 2w … (default: all time).")] = "30d",
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
) -> None:
    """Write a self-contained HTML report: timeline, partnership network, events with evidence."""
    from flows.report import parse_period, render_report

    s = render_report(db, parse_period(since) if since else None, out)
    console.print(f"wrote {s.out}: {s.events} events ({s.new_events} new, {s.changed_events} changed), "
                  f"{s.parties} parties" + (" — nothing yet" if s.empty else ""))


# -- extraction -----------------------------------------------------------------------------------

@app.command()
@_errors_are_messages
def extract(
    file: Annotated[Optional[Path], typer.Argument(help="A text file with one article.")] = None,
    published: Annotated[Optional[str], typer.Option(
        help="Publication date: YYYY-MM-DD, YYYY-MM or YYYY (relative dates resolve only as far as it allows).")] = None,
    jsonl: Annotated[Optional[Path], typer.Option(
        help="Documents in the gold format, one a line: {\"id\", \"published\", \"text\"}.")] = None,
    db: DbOption = Path("defwatch.duckdb"),
) -> None:
    """Print the events of one text (one JSON object per event and line), or of a JSONL file of
    documents (one line per document: {"id": ..., "events": [...]}). A bad line of --jsonl is
    reported on stderr with its line number and skipped; the others are still processed (exit 1)."""
    import extractors

    if (file is None) == (jsonl is None):
        raise DefwatchError("Give either FILE or --jsonl DOCS.jsonl.")
    if file is not None:
        pub = _parse_date(published)
        text = _read_text(file)
        for ev in extractors.extract(text, pub):
            sys.stdout.write(json.dumps(ev.to_dict(), ensure_ascii=False) + "\n")
        return
    bad = 0
    for n, doc, problem in _read_jsonl_rows(jsonl):
        if problem is None:
            try:
                pub = _parse_date(doc.get("published"), f"{jsonl}, line {n}: \"published\"")
                text = doc.get("text")
                if not isinstance(text, str):
                    raise DefwatchError(f"{jsonl}, line {n}: \"text\" must be a string.")
                events = [e.to_dict() for e in extractors.extract(text, pub)]
            except DefwatchError as exc:
                problem = str(exc)
        if problem is not None:
            bad += 1
            err.print(f"[bold red]error:[/] {problem} Skipped; the other lines go on.", highlight=False, markup=True,
                      soft_wrap=True)
            continue
        sys.stdout.write(json.dumps({"id": doc.get("id", n), "events": events}, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    if bad:
        raise typer.Exit(1)


@app.command("eval")
@_errors_are_messages
def eval_cmd(
    gold: Annotated[Optional[Path], typer.Argument(
        help="Gold file (JSONL, the format of docs/EVENTS.md). Default: the blind corpus eval/corpus.jsonl, "
             "then the older files (samples, ../shared/dev-gold.jsonl when present).")] = None,
    split: Annotated[Optional[str], typer.Option(help="Only this half of a split corpus: tune or validation.")] = None,
    details: Annotated[bool, typer.Option(
        help="List false positives, misses and attribute mismatches. Only for tune: validation is scored, never read.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the reports as JSON.")] = False,
    rules_only: Annotated[bool, typer.Option(
        "--rules-only", help="Score what the rules propose, without the trained candidate filter.")] = False,
    write_baseline: Annotated[bool, typer.Option(
        "--write-baseline", help="Pin today's figures as CI's floors (eval/baseline.json); say why in the commit.")] = False,
    db: DbOption = Path("defwatch.duckdb"),
) -> None:
    """Score the extractor against annotated text: precision, recall and F1 per type and overall,
    status/date/location accuracy of matched events, per half of the blind corpus (tune and
    validation), the goals on validation, and how often confident events were right."""
    from extractors import RULESET_VERSION
    from extractors import eval as ev
    from extractors.scoring import load_gold

    if split is not None and split not in ev.SPLITS:
        raise DefwatchError(f"--split {split!r}: use tune or validation.")
    corpus = PROJECT_ROOT / "eval" / "corpus.jsonl"
    path = gold or corpus
    if not path.is_file():
        hint = " (it comes with a clone of the repository)" if gold is None else ""
        raise DefwatchError(f"{path}: no such file{hint}. Give a gold file: defwatch eval FILE.jsonl")
    try:
        docs = load_gold(path)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DefwatchError(f"{exc}. A gold file has one JSON object a line with \"id\", \"text\" and \"events\".") from None
    has_validation = any(d.get("split") == "validation" for d in docs)
    if details and has_validation and split != "tune":
        raise DefwatchError("--details lists errors, and validation's are never read: add --split tune.")
    if write_baseline and (gold is not None and gold.resolve() != corpus.resolve() or split or rules_only):
        raise DefwatchError("--write-baseline pins the whole bundled corpus: run it without FILE, --split and --rules-only.")
    try:
        results = ev.evaluate_docs(docs, split, rules_only)
    except ValueError as exc:
        raise DefwatchError(f"{path}: {exc}") from None
    digest = ev.corpus_hash(path)
    extra: dict = {}
    if gold is None and split is None:
        for name, other in (("samples", PROJECT_ROOT / "samples" / "expected-events.jsonl"),
                            ("dev-gold", PROJECT_ROOT.parent / "shared" / "dev-gold.jsonl")):
            if other.is_file():
                extra[name] = ev.evaluate(other, rules_only)["all"]
    if write_baseline:
        out = ev.write_baseline(path, results)
        console.print(f"wrote {out.relative_to(PROJECT_ROOT)}", highlight=False)
    if json_out:
        payload = {"ruleset": RULESET_VERSION, "file": str(path), "corpus_sha256": digest,
                   "halves": {k: {**r.report.to_dict(), "reliability": ev.reliability(r.report)} for k, r in results.items()},
                   "other_files": {k: r.report.to_dict() for k, r in extra.items()}}
        if has_validation:  # the JSON lists no errors either: validation's are never read
            for v in [*payload["halves"].values(), *payload["other_files"].values()]:
                v.pop("details", None)
        console.print_json(json.dumps(payload))
        return
    console.print(f"{path.name} (sha256 {digest[:12]}), ruleset {RULESET_VERSION}", highlight=False)
    console.print("rules only: the candidate filter is off" if rules_only else "rules, then the candidate filter",
                  highlight=False)
    console.print(ev.format_summary({**results, **extra}), highlight=False)
    headline = results.get("validation")
    if headline is not None:
        console.print("\ngoals on validation (the headline; tune is what the rules were written against):", highlight=False)
        console.print(ev.format_goals(headline.report), highlight=False)
        console.print("\nreliability on validation (of events with this confidence, the share right):", highlight=False)
        console.print(ev.format_reliability(ev.reliability(headline.report)), highlight=False)
    if details:
        buf = io.StringIO()
        for r in results.values():
            ev.print_details(r.report, out=buf)
        console.print(buf.getvalue(), highlight=False, markup=False)


def _parse_date(value, what: str = "--published"):
    """None, or a publication date to the day, the month or the year."""
    from extractors.pubdate import PubDate

    try:
        return PubDate.parse(value)
    except ValueError:
        raise DefwatchError(f"{what} {value!r} is not a date; use YYYY-MM-DD, YYYY-MM or YYYY.") from None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DefwatchError(f"{path}: no such file.") from None
    except UnicodeDecodeError as exc:
        raise DefwatchError(f"{path}: not UTF-8 text (byte {exc.start}).") from None


def _read_jsonl_rows(path: Path):
    """(line number, object, None) for each good line; (line number, None, problem) for a bad one."""
    for n, line in enumerate(_read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            yield n, None, f"{path}, line {n}: not JSON ({exc.msg})."
            continue
        if not isinstance(doc, dict):
            yield n, None, f"{path}, line {n}: a document is a JSON object with \"text\"."
            continue
        yield n, doc, None


from flows import cli_maintenance  # noqa: E402  (check, backup, restore)

cli_maintenance.register(app, DbOption, _errors_are_messages, console)


def main() -> None:
    # Registered first, so it runs last: the interpreter's final garbage collection walks every
    # object Prefect and its server client created, 2 s after a run's work was done (measured on
    # a 304-only run). Frozen objects are left to the operating system; nothing of ours relies on
    # a finaliser at exit (connections and pools are closed by their `with` blocks).
    atexit.register(gc.freeze)
    app()


if __name__ == "__main__":
    main()

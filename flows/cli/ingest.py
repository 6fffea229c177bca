"""Commands that run a flow: ingest, demo, serve and reextract."""

from __future__ import annotations

import contextlib
import gc
from pathlib import Path
from typing import Annotated, Optional

import typer

from flows.cli.options import PROJECT_ROOT, DbOption, FeedsOption, MarkSeenOption, NotifyFileOption, NotifyOption
from flows.cli.output import console, emit_summary, err, errors_are_messages, flow_progress, print_articles
from flows.alerts import notify as notify_urls
from flows.errors import BadInput, ConfigError


def _check_registry(feeds_file: Path, base_url: str | None = None) -> None:
    """The registry is a file that lists feeds: one line otherwise, before anything starts (an
    empty registry used to run, create an empty database and say nothing)."""
    from flows.sources.registry import load_feeds

    if feeds_file.is_dir():
        raise ConfigError(f"--feeds {feeds_file} is a folder: give the feed registry file (TOML), e.g. "
                          f"{feeds_file / 'feeds.toml'}.")
    if not load_feeds(feeds_file, base_url=base_url):
        raise ConfigError(f"{feeds_file} lists no feeds: nothing to ingest, and no database was created. Add "
                          f"feeds to it, as samples/feeds.toml does.")


PREFECT_STARTING = ("waiting for Prefect's embedded server (started at launch; a few seconds, up to a minute on "
                    "a busy machine; the runs then show their progress)…")


@contextlib.contextmanager
def _prefect_for(db: Path | None, importing):
    """The Prefect API for this command's flow runs (``flows.runtime.prefect_api``): a running
    server if there is one (said on stderr), else an embedded one started now, which starts while
    ``importing()`` imports the flow; yields what ``importing`` returned, inside the API's settings."""
    from flows.runtime.prefect_api import prefect_api

    with prefect_api(db) as api:
        if api.server is None:
            err.print(api.describe(), soft_wrap=True)
        loaded = importing()
        if api.server is not None:
            with console.status(PREFECT_STARTING):
                api.wait_ready(say=lambda line: err.print(line, soft_wrap=True))
        with api.in_use():
            yield loaded


def _run_ingest(db: Path, feeds_file: Path, base_url: str | None, force: bool,
                overrides: dict | None = None, wait: float = 0.0, mark_seen: bool = False) -> dict:
    from flows.runtime import progress
    from flows.runtime.prefect_api import prefect_api
    from flows.runtime.prefect_env import quiet_typed_failures
    from flows.runtime.runlock import run_lock
    from flows.settings import load_settings
    from warehouse.db import ensure_writable_database

    load_settings(**(overrides or {}))  # a bad defwatch.toml is one line now, not after Prefect's start-up
    # Validate the registry before Prefect starts (and before the database is touched), and say
    # plainly if another run holds the database. The lock is held around the whole flow call (the
    # flow's own lock finds it held by this process): a run that loses a race is refused here, in
    # one line, and never inside the flow, where Prefect would log the refusal with a traceback.
    _check_registry(feeds_file, base_url)
    with run_lock(db, wait_s=wait):
        ensure_writable_database(db)  # a damaged or foreign file, or a full disk: one line, before Prefect
        # Prefect's server starts (or is found running) now; while it starts, this process imports the
        # flow and the head start polls the feeds and begins fetching and cleaning (flows.headstart).
        with prefect_api(db) as api:
            if api.server is None:
                err.print(api.describe(), soft_wrap=True)
            from flows.headstart import HeadStart

            with flow_progress(), HeadStart(db, feeds_file, base_url, force, overrides):
                from flows.ingest import ingest_flow

                progress.start("prefect", 1)
                api.wait_ready(say=lambda line: err.print(line, soft_wrap=True))
                progress.advance("prefect", 1)
                # Everything imported so far lives until exit: keep it out of every later garbage
                # collection (each full one would walk Prefect's several hundred thousand objects again).
                gc.freeze()
                with api.in_use(), quiet_typed_failures():
                    return ingest_flow(db=str(db), feeds_file=str(feeds_file), base_url=base_url, force=force,
                                       settings_overrides=overrides, lock_wait_s=wait, mark_seen=mark_seen)


@errors_are_messages
def ingest(
    db: DbOption = Path("defwatch.duckdb"),
    feeds: FeedsOption = Path("feeds.toml"),
    force: Annotated[bool, typer.Option(help="Poll every enabled feed now, even those not yet due.")] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for another ingest run on the same database.")] = 0.0,
    notify: NotifyOption = None,
    notify_file: NotifyFileOption = None,
    mark_seen: MarkSeenOption = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the run row as JSON.")] = False,
) -> None:
    """Poll the due feeds once, store new articles, and record the run.

    Feeds are polled with conditional GET; a feed that failed waits longer each time (never given up).
    Runs once and exits: for a schedule use `defwatch serve`.
    """
    notify_urls.hand_over(notify, notify_file)
    summary = _run_ingest(db, feeds, None, force, wait=wait, mark_seen=mark_seen)
    emit_summary(summary, db, json_out)

@errors_are_messages
def demo(
    db: DbOption = Path("defwatch.duckdb"),
    samples: Annotated[Path, typer.Option(help="Folder with feeds.toml, feeds/ and articles/.")] = PROJECT_ROOT / "samples",
    notify: NotifyOption = None,
    notify_file: NotifyFileOption = None,
    mark_seen: MarkSeenOption = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the run row as JSON.")] = False,
) -> None:
    """Serve the bundled samples over HTTP on 127.0.0.1 (a free port), ingest them, print a summary.

    Offline and self-contained: the main job on the embedded default (a DuckDB file, no server).
    Run it twice: the second run stores nothing new and fetches no known article again.
    """
    from flows.runtime.sample_server import serve_directory

    feeds_file = samples / "feeds.toml"
    if not feeds_file.exists():
        raise BadInput(f"{feeds_file} not found: --samples must point at the samples folder.")
    notify_urls.hand_over(notify, notify_file)
    with serve_directory(samples) as server:
        err.print(f"serving {samples} at {server.base_url}")
        summary = _run_ingest(db, feeds_file, server.base_url, force=True, mark_seen=mark_seen)
    emit_summary(summary, db, json_out)
    if not json_out:
        print_articles(db, summary.get("run_id"))
        console.print(f"Next: defwatch events --db {db}. The demo's feeds and links lived on its temporary "
                      f"server; `defwatch feeds list --db {db}` shows them from the database, and "
                      f"`defwatch ingest --db {db}` polls the real feeds of feeds.toml.", soft_wrap=True)

@errors_are_messages
def serve(
    db: DbOption = Path("defwatch.duckdb"),
    feeds: FeedsOption = Path("feeds.toml"),
    every: Annotated[Optional[str], typer.Option(help="Interval such as 15m, 1h, 90s.")] = None,
    cron: Annotated[Optional[str], typer.Option(help="Cron schedule, e.g. '*/15 * * * *'.")] = None,
    port: Annotated[int, typer.Option(help="Port for a local Prefect server (when PREFECT_API_URL is unset).")] = 4200,
    notify: NotifyOption = None,
    notify_file: NotifyFileOption = None,
) -> None:
    """Run `ingest` on a schedule until Ctrl-C (with --every, the first run starts at once).

    Schedules need a real Prefect server: the one PREFECT_API_URL names, or else a local
    `prefect server start` that this command starts, waits for, and stops on exit. Runs show in
    the Prefect UI at that server's address, and execute in this process, one at a time. A
    `defwatch ingest` on the same database meanwhile reports to the same server.
    """
    from flows.periods import parse_interval
    from flows.serve import serve_ingest

    if (every is None) == (cron is None):
        raise BadInput("Give exactly one of --every (e.g. 15m) or --cron.")
    interval = parse_interval(every) if every else None
    _check_registry(feeds)
    from flows.settings import load_settings

    load_settings()  # a bad defwatch.toml is one line now, before a Prefect server is started
    notify_urls.hand_over(notify, notify_file)  # the scheduled runs run in this process: in memory
    serve_ingest(db=db, feeds_file=feeds, interval_s=interval, cron=cron, port=port, console=err)

@errors_are_messages
def reextract(
    db: DbOption = Path("defwatch.duckdb"),
    all_articles: Annotated[bool, typer.Option("--all", help="Re-read every article, not only those read by another rule-set version.")] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for another run on the same database.")] = 0.0,
) -> None:
    """Re-run the extractor on stored articles after a rule change; mentions and events are
    reconciled without duplicates and each change is kept in event_history."""
    from flows.runtime.runlock import run_lock
    from flows.settings import load_settings
    from warehouse.db import read_connection

    load_settings()  # a bad defwatch.toml is one line now, before Prefect starts
    with read_connection(db):
        pass
    with run_lock(db, wait_s=wait):
        pass
    with _prefect_for(db, _import_reextract_flow) as reextract_flow, flow_progress():
        totals = reextract_flow(db=str(db), all_articles=all_articles, lock_wait_s=wait)
    console.print(
        f"rule set {totals['ruleset_version']}: {totals['articles']} articles re-read, "
        f"{totals['events_created']} events created, {totals['mentions_added']} mentions added, "
        f"{totals['mentions_retracted']} retracted, {totals['changes']} event changes recorded."
    )


def _import_reextract_flow():
    from flows.reextract import reextract_flow

    return reextract_flow

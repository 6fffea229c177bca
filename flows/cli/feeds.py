"""`defwatch feeds`: list the registry with each feed's health, or check that each feed answers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli.options import DbOption, FeedsOption
from flows.cli.output import console, err, errors_are_messages

feeds_app = typer.Typer(help="List the feed registry, or check that each feed answers and parses.",
                        no_args_is_help=True)


@feeds_app.command("list")
@errors_are_messages
def feeds_list(
    feeds: FeedsOption = Path("feeds.toml"),
    db: DbOption = Path("defwatch.duckdb"),
) -> None:
    """Show the registry, with each feed's health from the database when there is one."""
    from datetime import datetime, timezone

    from rich.table import Table

    from flows.sources.feedstate import health
    from flows.sources.registry import load_feeds
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
@errors_are_messages
def feeds_check(
    feeds: FeedsOption = Path("feeds.toml"),
    all_feeds: Annotated[bool, typer.Option("--all", help="Check disabled feeds too.")] = False,
    db: DbOption = Path("defwatch.duckdb"),
) -> None:
    """Fetch each feed now and report whether it answers and parses (the database is not changed)."""
    from rich.table import Table
    from rich.text import Text

    from flows.sources.fetch import FetchRequest, run_fetches
    from flows.sources.parse import parse_feed
    from flows.sources.registry import load_feeds
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
                verdict, detail, failed = Text("not a feed", "red"), parsed.error, failed + 1
            elif parsed.warning:
                verdict, detail = Text("ok, warning", "yellow"), parsed.warning
            else:
                verdict, detail = Text("ok", "green"), parsed.version
            n = str(len(parsed.entries))
        else:
            verdict, detail, n, failed = Text(str(res.error_kind), "red"), res.error or "", "", failed + 1
        t.add_row(f.name, verdict, str(res.status or ""), n, f"{res.elapsed_s:.1f}s", detail)
    console.print(t)
    if failed:
        err.print(f"{failed} of {len(registry)} feeds failed.")
        raise typer.Exit(1)

"""`defwatch feeds`: list the registry with each feed's health, or check that each feed answers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli.options import DbOption, FeedsOption, WideOption
from flows.cli.output import console, err, errors_are_messages, print_fitted, print_result
from flows.errors import BadInput

feeds_app = typer.Typer(help="List the feed registry, or check that each feed answers and parses.",
                        no_args_is_help=True)


@feeds_app.command("list")
@errors_are_messages
def feeds_list(
    feeds: FeedsOption = Path("feeds.toml"),
    db: DbOption = Path("defwatch.duckdb"),
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")] = "table",
    wide: WideOption = False,
) -> None:
    """Show the feeds of the registry and of the database: each feed's health, last status and
    articles stored. A feed the database knows that the registry does not name is listed too."""
    from datetime import datetime, timezone

    from flows.sources.feedstate import health
    from flows.sources.registry import load_feeds
    from flows.settings import load_settings
    from warehouse.query import QueryResult

    if fmt not in ("table", "csv", "json"):
        raise BadInput(f"--format {fmt!r}: use table, csv or json.")
    registry = {f.name: f for f in load_feeds(feeds)} if feeds.exists() or not db.exists() else {}
    known: dict = {}
    states: dict = {}
    if db.exists():
        from warehouse.reports import known_feeds

        known, states = known_feeds(db)
    sched = load_settings().schedule
    now = datetime.now(timezone.utc)
    columns = ["name", "health", "last status", "failures", "next attempt", "articles", "in registry",
               "enabled", "tags", "url"]
    rows = []
    for name in [*registry, *sorted(n for n in known if n not in registry)]:
        f, k, st = registry.get(name), known.get(name), states.get(name)
        rows.append([
            name, health(st, now, sched) if f or st else "",
            str(st.get("last_status") or st.get("last_error_kind") or "") if st else "",
            str(st.get("consecutive_failures") or 0) if st else "",
            f"{st['next_attempt_at']:%Y-%m-%d %H:%M}" if st and st.get("next_attempt_at") else "",
            str(k["articles"]) if k else ("0" if db.exists() else ""),
            "yes" if f else "no",
            ("yes" if f.enabled else "no") if f else ("yes" if k and k["enabled"] else "no"),
            ",".join(f.tags if f else (k["tags"] if k else [])),
            f.url if f else (k["url"] if k else ""),
        ])
    source = f"registry {feeds}" if registry else f"registry {feeds} (not found)"
    in_db = f"database {db}: {len(known)} feeds" if db.exists() else f"database {db}: none yet"
    if fmt != "table":
        print_result(QueryResult(columns, [tuple(r) for r in rows]), fmt, None)
        return
    only_db = len([n for n in known if n not in registry])
    note = (f"; {only_db} feeds in the database are not in {feeds} (ingested from another registry; "
            f"pass it with --feeds)") if only_db else ""
    print_fitted(columns, rows, f"{len(registry)} feeds in {source}; {in_db}", f"{len(rows)} feeds{note}", wide)


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

"""`defwatch feeds`: list the registry with each feed's health, or check that each feed answers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

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
    yields: dict = {}
    if db.exists():
        from warehouse import store
        from warehouse.db import read_connection
        from warehouse.reports import known_feeds

        known, states = known_feeds(db)
        with read_connection(db) as con:
            yields = store.source_yield(con)
    sched = load_settings().schedule
    now = datetime.now(timezone.utc)
    columns = ["name", "kind", "health", "last status", "failures", "next attempt", "articles", "events",
               "last new article", "in registry", "enabled", "tags", "url"]
    rows = []
    for name in [*registry, *sorted(n for n in known if n not in registry)]:
        f, k, st, y = registry.get(name), known.get(name), states.get(name), yields.get(name)
        rows.append([
            name, f.kind if f else "", health(st, now, sched) if f or st else "",
            str(st.get("last_status") or st.get("last_error_kind") or "") if st else "",
            str(st.get("consecutive_failures") or 0) if st else "",
            f"{st['next_attempt_at']:%Y-%m-%d %H:%M}" if st and st.get("next_attempt_at") else "",
            str(k["articles"]) if k else ("0" if db.exists() else ""),
            str(y["events"]) if y else ("0" if db.exists() else ""),
            f"{y['last_new']:%Y-%m-%d %H:%M}" if y and y.get("last_new") else "",
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
    from flows.pipeline import parse_source
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
            parsed = parse_source(f, res, settings.fetch.max_bytes)[0]
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


def _entry_name(title: str | None, url: str, taken: set[str]) -> str:
    from urllib.parse import urlsplit

    from flows.sources.registry_edit import slug, unique_name

    host = (urlsplit(url).hostname or "feed").removeprefix("www.")
    base = slug(title) if title and slug(title) != "feed" else slug(host)
    return unique_name(base, taken)


def _entries(parsed) -> str:
    n = len(parsed.entries)
    return f"{n} entry" if n == 1 else f"{n} entries"


def _tag_list(tags: str | None) -> list[str]:
    return [t.strip() for t in (tags or "").split(",") if t.strip()]


@feeds_app.command("add")
@errors_are_messages
def feeds_add(
    url: Annotated[str, typer.Argument(help="A feed's address, or a site's or page's address to discover its feeds.")],
    feeds: FeedsOption = Path("feeds.toml"),
    name: Annotated[Optional[str], typer.Option("--name", help="Registry name (default: from the feed's title).")] = None,
    tags: Annotated[Optional[str], typer.Option("--tags", help="Comma-separated tags.")] = None,
    language: Annotated[Optional[str], typer.Option("--language", help="ISO 639-1 code of the content.")] = None,
    kind: Annotated[str, typer.Option("--kind", help="feed (discovered if URL is a page), sitemap, or page (a listing page).")] = "feed",
    selector: Annotated[Optional[str], typer.Option("--selector", help="With --kind page: CSS selector of the article links.")] = None,
    pick: Annotated[Optional[int], typer.Option("--pick", help="Add the Nth of the discovered feeds.")] = None,
    add_all: Annotated[bool, typer.Option("--all", help="Add every discovered feed.")] = False,
    trusted: Annotated[bool, typer.Option("--trusted", help="Let this address's own scheme, host and port be on loopback or a private network.")] = False,
) -> None:
    """Add a source: a feed (checked that it parses), or the feeds discovered at a site's address;
    `--kind sitemap` or `--kind page` for a site without a feed."""
    from flows.errors import ConfigError
    from flows.settings import load_settings
    from flows.sources.discover import discover
    from flows.sources.registry_edit import RegistryFile, find_duplicate

    reg = RegistryFile(feeds)
    settings = load_settings().fetch
    base = {"tags": _tag_list(tags) or None, "language": language, "trusted": trusted or None}
    if kind not in ("feed", "sitemap", "page"):
        raise ConfigError(f"--kind {kind!r}: must be feed, sitemap or page.")
    if kind != "feed":
        from flows.pipeline import parse_source
        from flows.sources.fetch import FetchRequest, run_fetches

        entry = {"name": name or _entry_name(None, url, reg.names), "url": url, "kind": kind, "selector": selector, **base}
        reg.add(entry)  # a duplicate or a bad selector is refused before anything is fetched
        (res,), _ = run_fetches(settings, [FetchRequest(url=url, trusted=trusted)])
        if not res.ok:
            raise ConfigError(f"{res.error or f'{url} answered HTTP {res.status}'}; nothing was added.")
        parsed, children = parse_source(reg.feeds[-1], res, settings.max_bytes)
        if parsed.error_kind:
            raise ConfigError(f"{parsed.error}; nothing was added.")
        what = (f"a sitemap index of {len(children)} sitemaps" if children else
                f"{len(parsed.entries)} {'URLs' if kind == 'sitemap' else 'article links'}")
        reg.save()
        console.print(f"added {entry['name']} ({kind}, {what}): {url} to {feeds}", highlight=False, soft_wrap=True)
        if parsed.warning:
            err.print(f"warning: {parsed.warning}", highlight=False, soft_wrap=True)
        return
    if selector:
        raise ConfigError("--selector is only for --kind page.")
    found = discover(url, settings, trusted)
    if found.error:
        raise ConfigError(f"{found.error}; nothing was added.")
    if not found.feeds and found.sitemaps:
        raise ConfigError(f"no feed found at {url}, but the site's robots.txt names a sitemap: {found.sitemaps[0]}; "
                          f"add it with `defwatch feeds add {found.sitemaps[0]} --kind sitemap"
                          f"{' --trusted' if trusted else ''}`, or the news page with --kind page.")
    if not found.feeds:
        raise ConfigError(f"no feed found at {url} (neither its <link rel=\"alternate\"> nor the common feed paths); "
                          f"for a site without a feed, add its sitemap with --kind sitemap or its news page with --kind page.")
    chosen = found.feeds
    if not found.is_feed and len(found.feeds) > 1 and not add_all:
        if pick is None:
            console.print(f"{len(found.feeds)} feeds found at {url}:", highlight=False, soft_wrap=True)
            for i, f in enumerate(found.feeds, 1):
                console.print(f"  {i}. {f.title or '(untitled)'}: {f.url} ({f.parsed.version}, "
                              f"{_entries(f.parsed)})", highlight=False, soft_wrap=True)
            err.print("Nothing was added: choose one with --pick N, or add them all with --all.", highlight=False)
            raise typer.Exit(1)
        if not 1 <= pick <= len(found.feeds):
            raise ConfigError(f"--pick {pick}: there are {len(found.feeds)} feeds, numbered 1 to {len(found.feeds)}.")
        chosen = [found.feeds[pick - 1]]
    if name and len(chosen) > 1:
        raise ConfigError("--name names one feed; with --all the names come from the feeds' titles.")
    if len(chosen) > 1:  # --all: feeds already in the registry are skipped, the others added
        fresh = []
        for f in chosen:
            dup = find_duplicate(reg.feeds, f.url)
            if dup is None:
                fresh.append(f)
            else:
                err.print(f"skipped {f.url}: already in the registry as {dup.name!r}", highlight=False, soft_wrap=True)
        if not fresh:
            raise ConfigError(f"every feed found at {url} is already in {feeds}; nothing was added.")
        chosen = fresh
    from flows.sources.urls import same_origin

    for f in chosen:
        # --trusted vouches for the address given, not for another host a page links to.
        own = {**base, "trusted": True if trusted and same_origin(f.url, url) else None}
        added = reg.add({"name": name or _entry_name(f.title, f.url, reg.names), "url": f.url, "title": f.title,
                         "site_url": None if found.is_feed else url, **own})
        console.print(f"added {added.name}: {added.url} ({f.parsed.version}, {_entries(f.parsed)}) to {feeds}",
                      highlight=False, soft_wrap=True)
    reg.save()


@feeds_app.command("remove")
@errors_are_messages
def feeds_remove(name: Annotated[str, typer.Argument(help="The feed's registry name.")],
                 feeds: FeedsOption = Path("feeds.toml")) -> None:
    """Remove a source from the registry (its articles stay in the database)."""
    from flows.sources.registry_edit import RegistryFile

    reg = RegistryFile(feeds)
    removed = reg.remove(name)
    reg.save()
    console.print(f"removed {removed.name}: {removed.url} from {feeds}", highlight=False, soft_wrap=True)


def _set_enabled(name: str, feeds: Path, enabled: bool) -> None:
    from flows.sources.registry_edit import RegistryFile

    reg = RegistryFile(feeds)
    word = "enabled" if enabled else "disabled"
    if reg.set_enabled(name, enabled):
        reg.save()
        console.print(f"{name} is now {word} in {feeds}", highlight=False, soft_wrap=True)
    else:
        console.print(f"{name} was already {word} in {feeds}; nothing changed", highlight=False, soft_wrap=True)


@feeds_app.command("enable")
@errors_are_messages
def feeds_enable(name: Annotated[str, typer.Argument(help="The feed's registry name.")],
                 feeds: FeedsOption = Path("feeds.toml")) -> None:
    """Poll this source again."""
    _set_enabled(name, feeds, True)


@feeds_app.command("disable")
@errors_are_messages
def feeds_disable(name: Annotated[str, typer.Argument(help="The feed's registry name.")],
                  feeds: FeedsOption = Path("feeds.toml")) -> None:
    """Stop polling this source (it stays in the registry)."""
    _set_enabled(name, feeds, False)


@feeds_app.command("import")
@errors_are_messages
def feeds_import(
    file: Annotated[Path, typer.Argument(help="An OPML file (OPML 1.0 or 2.0) from another feed reader.")],
    feeds: FeedsOption = Path("feeds.toml"),
    trusted: Annotated[bool, typer.Option("--trusted", help="Mark the imported feeds trusted (loopback/private addresses).")] = False,
) -> None:
    """Add the feeds of an OPML file: nested categories become tags; duplicates and entries that are
    not feeds are reported and skipped; the registry is written once, or not at all."""
    from flows.sources.opml import read_opml
    from flows.sources.registry_edit import RegistryFile, find_duplicate

    from flows.sources.urls import canonical_url

    reg = RegistryFile(feeds)
    opml = read_opml(file)
    entries, skipped = [], list(opml.problems)
    names = set(reg.names)
    seen: dict[str, str] = {}
    for f in opml.feeds:
        dup = find_duplicate(reg.feeds, f.xml_url)
        if dup is not None:
            skipped.append(f"{f.title or f.xml_url!r}: {f.xml_url} is already in the registry as {dup.name!r}")
            continue
        canon = canonical_url(f.xml_url)
        if canon in seen:
            skipped.append(f"{f.title or f.xml_url!r}: {f.xml_url} is listed twice in the file (first as {seen[canon]!r})")
            continue
        name = _entry_name(f.title, f.xml_url, names)
        names.add(name)
        seen[canon] = name
        entries.append({"name": name, "url": f.xml_url, "title": f.title, "site_url": f.html_url,
                        "tags": list(f.tags) or None, "language": f.language, "trusted": trusted or None})
    added = reg.add_many(entries) if entries else []
    if added:
        reg.save()
    for a in added:
        console.print(f"added {a.name}: {a.url}" + (f" [{', '.join(a.tags)}]" if a.tags else ""),
                      highlight=False, soft_wrap=True, markup=False)
    for s in skipped:
        err.print(f"skipped {s}", highlight=False, soft_wrap=True, markup=False)
    console.print(f"{len(added)} feeds added to {feeds}, {len(skipped)} skipped.", highlight=False, soft_wrap=True)


@feeds_app.command("export")
@errors_are_messages
def feeds_export(
    feeds: FeedsOption = Path("feeds.toml"),
    fmt: Annotated[str, typer.Option("--format", "-f", help="opml (the only format so far).")] = "opml",
    out: Annotated[Optional[Path], typer.Option("--out", help="Write to this file instead of standard output.")] = None,
) -> None:
    """Write the registry's feeds as OPML 2.0 (tags become nested categories), for another reader."""
    import sys

    from flows.errors import ConfigError
    from flows.sources.opml import write_opml
    from flows.sources.registry import load_feeds

    if fmt != "opml":
        raise ConfigError(f"--format {fmt!r}: only opml is supported.")
    text = write_opml(load_feeds(feeds))
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        err.print(f"wrote {out}", highlight=False)

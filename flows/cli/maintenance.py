"""The ``defwatch check``, ``backup`` and ``restore`` commands: arguments in, warehouse.maintenance, lines out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli.options import DbOption
from flows.cli.output import console, errors_are_messages

WaitOption = Annotated[float, typer.Option(help="Seconds to wait for a run that holds the database.")]


def _say(line: str) -> None:
    """One line, printed as it is (paths and DuckDB messages are never read as markup)."""
    console.print(line, markup=False, highlight=False, soft_wrap=True)


@errors_are_messages
def check(db: DbOption = Path("defwatch.duckdb"), wait: WaitOption = 30.0) -> None:
    """Check the database's integrity without changing it: read every table in full (DuckDB
    verifies each block's checksum), compare the schema version with this defwatch's, and
    count orphaned rows (mentions without events, alerts without events, …).

    One line per finding. Exit 0 when clean, 1 with findings, 2 when the file is unusable.
    """
    from warehouse.maintenance import check as run_check

    report = run_check(db, wait=wait)
    for line in report.findings:
        _say(line)
    if report.exit_code == 0:
        _say(report.summary())
    raise typer.Exit(report.exit_code)


@errors_are_messages
def backup(
    folder: Annotated[Path, typer.Argument(help="New folder for the backup (must not exist, or be empty).")],
    db: DbOption = Path("defwatch.duckdb"),
    wait: WaitOption = 0.0,
) -> None:
    """Write a consistent copy of the database to FOLDER (DuckDB EXPORT DATABASE: SQL and
    Parquet files, plus a manifest of row counts). No ingest may run meanwhile: it waits
    --wait seconds for one that does, then gives up."""
    from flows.runtime.runlock import run_lock
    from warehouse.maintenance import backup as run_backup

    with run_lock(db, wait_s=wait):
        res = run_backup(db, folder, wait=max(wait, 1.0))
    _say(f"backed up {res.source} to {res.target}: {len(res.tables)} tables, "
              f"{sum(res.tables.values()):,} rows, {res.bytes / 1e6:.1f} MB in {res.seconds:.1f} s")


@errors_are_messages
def restore(
    folder: Annotated[Path, typer.Argument(help="A folder written by `defwatch backup`.")],
    db: DbOption = Path("defwatch.duckdb"),
    force: Annotated[bool, typer.Option(help="Replace an existing database (kept as DB.before-restore).")] = False,
    wait: WaitOption = 0.0,
) -> None:
    """Rebuild the database from a backup folder. The result must read back undamaged with
    the backup's row counts before it takes the place of --db (other findings of `defwatch
    check` are listed, exit 1); an existing database is replaced only with --force."""
    from flows.runtime.runlock import run_lock
    from warehouse.maintenance import restore as run_restore

    with run_lock(db, wait_s=wait):
        res = run_restore(folder, db, force=force)
    verdict = "check passed" if not res.findings else f"check found {len(res.findings)} problems the backup had"
    _say(f"restored {res.target} from {res.source}: {len(res.tables)} tables, "
              f"{sum(res.tables.values()):,} rows in {res.seconds:.1f} s; {verdict}")
    for line in res.findings:
        _say(line)
    if res.findings:
        raise typer.Exit(1)

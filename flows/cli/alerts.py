"""`defwatch alerts`: list alert deliveries, or force pending ones out now."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from flows.cli.options import DbOption, NotifyOption, WideOption
from flows.cli.output import console, err, errors_are_messages, print_result
from flows.errors import BadInput

alerts_app = typer.Typer(help="See alert deliveries, or force pending ones out now.", no_args_is_help=True)



@alerts_app.command("list")
@errors_are_messages
def alerts_list(
    db: DbOption = Path("defwatch.duckdb"),
    status: Annotated[Optional[str], typer.Option(help="pending, sent or skipped.")] = None,
    limit: Annotated[int, typer.Option(help="Most rows to show (0 = all).")] = 50,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")] = "table",
    wide: WideOption = False,
) -> None:
    """Alerts and their deliveries, newest first: channel, status, attempts, last error."""
    from warehouse.reports import alert_deliveries

    if status is not None and status not in ("pending", "sent", "skipped"):
        raise BadInput(f"--status {status!r}: use pending, sent or skipped.")

    print_result(alert_deliveries(db, status, limit), fmt, None, wide=wide)


@alerts_app.command("retry")
@errors_are_messages
def alerts_retry(
    db: DbOption = Path("defwatch.duckdb"),
    notify: NotifyOption = None,
) -> None:
    """Deliver every pending alert now, ignoring backoff (configured channels and any --notify URL)."""
    from datetime import datetime, timezone

    from flows.alerts import delivery, routing
    from flows.alerts.notify import notify_urls
    from flows.runtime.runlock import run_lock
    from flows.settings import load_settings
    from warehouse import alerts as walerts
    from warehouse.db import read_connection, transaction, write_connection

    with read_connection(db):
        pass
    settings = load_settings()
    chans = routing.Channels.build(settings.alerts, notify or notify_urls())
    with run_lock(db):
        with write_connection(db) as con, transaction(con):
            walerts.make_due(con)
        report = delivery.deliver(db, chans, settings.alerts, datetime.now(timezone.utc))
    console.print(f"{report.sent} delivered, {report.failed} failed (still pending), "
                  f"{report.waiting} waiting for a --notify URL of an earlier run.")
    for e in report.errors[:10]:
        err.print(f"  {e}")
    if report.failed:
        raise typer.Exit(1)

"""The options several commands share (--db, --feeds, --notify, --format ...)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

DbOption = Annotated[
    Path,
    typer.Option("--db", envvar="DEFWATCH_DB", help="DuckDB file of the event log.", show_default=True),
]
FeedsOption = Annotated[
    Path,
    typer.Option("--feeds", envvar="DEFWATCH_FEEDS_FILE", help="Feed registry (TOML).", show_default=True),
]
PROJECT_ROOT = Path(__file__).resolve().parents[2]

NotifyOption = Annotated[
    Optional[list[str]],
    typer.Option("--notify", help="Also send this run's alerts to this apprise URL (repeatable), e.g. "
                                  "json://127.0.0.1:8080/hook, mailto://…, slack://…. Env: DEFWATCH_NOTIFY "
                                  "(space-separated)."),
]
NotifyFileOption = Annotated[
    Optional[Path],
    typer.Option("--notify-file", help="Send this run's alerts to the apprise URLs in this file (one a line, "
                                       "# comments): unlike --notify, the URLs' tokens stay out of the process "
                                       "listing. Env: DEFWATCH_NOTIFY, which defwatch keeps from the processes it "
                                       "starts."),
]
MarkSeenOption = Annotated[bool, typer.Option("--mark-seen", help="Record this run's alerts as seen without sending them (first backfill).")]


FormatOption = Annotated[str, typer.Option("--format", "-f", help="table, csv, json or parquet (parquet needs --out).")]
WideOption = Annotated[bool, typer.Option("--wide", help="Show every column, however wide the table gets (the terminal may wrap its lines).")]

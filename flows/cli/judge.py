"""The analyst's commands: review (events nobody judged yet) and judge (confirm, reject, correct, merge one)."""

from __future__ import annotations

import getpass
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer

from flows.cli.options import DbOption, FormatOption
from flows.cli.output import console, errors_are_messages, print_result
from flows.errors import DefwatchError


class UsageError(DefwatchError):
    exit_code = 2


judgements_app = typer.Typer(help="The judgements recorded: list them, or export the judged articles as gold data.",
                             no_args_is_help=True)


@errors_are_messages
def review(
    db: DbOption = Path("defwatch.duckdb"),
    limit: Annotated[int, typer.Option(help="Most events to show (0 = all).")] = 20,
    fmt: FormatOption = "table",
) -> None:
    """List the events nobody has judged yet, newest first, with their evidence and its article."""
    from warehouse import judgements as wj

    res = wj.review(db, limit or None)
    if fmt == "table" and not res.rows:
        console.print("nothing to review: every event has been judged.", highlight=False)
        return
    if fmt != "table":
        print_result(res, fmt, None)
        return
    for row in res.rows:
        r = dict(zip(res.columns, row))
        facts = "  ".join(str(r[k]) for k in ("status", "date", "location") if r[k])
        reports = f"{r['reports']} report{'s' if r['reports'] != 1 else ''}"
        console.print(f"{r['id']}  {r['type']}  {r['parties']}  {facts}  ({reports})", highlight=False,
                      soft_wrap=True, markup=False)
        console.print(f"    \u201c{r['evidence']}\u201d", highlight=False, soft_wrap=True, markup=False)
        if r["source"]:
            console.print(f"    {r['source']}", highlight=False, soft_wrap=True, markup=False)
    total = wj.unjudged_count(db)
    more = f" ({len(res.rows)} shown: --limit 0 shows all)" if total > len(res.rows) else ""
    console.print(f"{total} event{'s' if total != 1 else ''} to review{more}. Judge one: defwatch judge ID "
                  "confirm | reject | correct --status … | merge OTHER_ID", highlight=False, soft_wrap=True)


@errors_are_messages
def judge(
    event_id: Annotated[str, typer.Argument(help="The event's id, or enough of its start to be unique.")],
    action: Annotated[str, typer.Argument(help="confirm, reject, correct or merge.")],
    other_id: Annotated[Optional[str], typer.Argument(help="merge: the event this one is the same as.")] = None,
    status: Annotated[Optional[str], typer.Option(help="correct: the right status (e.g. signed).")] = None,
    date: Annotated[Optional[str], typer.Option(help="correct: the right date, YYYY[-MM[-DD]].")] = None,
    location: Annotated[Optional[str], typer.Option(help="correct: the right place.")] = None,
    parties: Annotated[Optional[str], typer.Option(help="correct: the right parties, separated by commas.")] = None,
    type_: Annotated[Optional[str], typer.Option("--type", help="correct: partnership or summit.")] = None,
    by: Annotated[Optional[str], typer.Option("--by", envvar="DEFWATCH_ANALYST", help="Who judges (default: your user name).")] = None,
    note: Annotated[Optional[str], typer.Option(help="Why: kept with the judgement.")] = None,
    db: DbOption = Path("defwatch.duckdb"),
) -> None:
    """Record a judgement of one event: confirm, reject (not an event), correct, or merge it into another.

    Kept with who, when and why, and honoured by every view, re-extraction and alert."""
    from warehouse import judgements as wj

    if action not in wj.KINDS:
        raise UsageError(f"unknown judgement {action!r}: use confirm, reject, correct or merge.")
    if other_id and action != "merge":
        raise UsageError(f"{action} takes no second event id ({other_id!r}); only merge does.")
    who = by or os.environ.get("USER") or getpass.getuser()
    fields = {"status": status, "date": date, "location": location, "parties": parties, "type": type_}
    j = wj.judge(db, event_id, action, datetime.now(timezone.utc), who, note, fields, other_id)
    console.print(describe(j), highlight=False, soft_wrap=True)


def describe(j) -> str:
    """One line saying what was recorded."""
    what = f"{j.event_id} ({j.type}: {', '.join(j.parties)})"
    if j.kind == "correct":
        detail = "; ".join(f"{k} {_show(a)} -> {_show(b)}" for k, (a, b) in j.changed.items())
        line = f"corrected {what}: {detail}"
    elif j.kind == "merge":
        line = f"merged {what} into {j.other_event_id}"
    else:
        line = f"{'confirmed' if j.kind == 'confirm' else 'rejected'} {what}"
    line += f", by {j.judged_by} (judgement {j.judgement_id})"
    if j.withdrawn:
        line += f"; {j.withdrawn} pending alert(s) withdrawn"
    if j.notices:
        line += f"; correction notice queued for {j.notices} channel(s)"
    return line


def _show(v) -> str:
    if v is None or v == []:
        return "(none)"
    return ", ".join(v) if isinstance(v, list) else str(v)


@judgements_app.command("list")
@errors_are_messages
def list_judgements(
    event_id: Annotated[Optional[str], typer.Argument(help="Only this event's (a unique start of its id).")] = None,
    db: DbOption = Path("defwatch.duckdb"),
    fmt: FormatOption = "table",
) -> None:
    """Every judgement, oldest first: when, which event, what, by whom and why."""
    from warehouse import judgements as wj

    print_result(wj.judgements_of(db, event_id), fmt, None)


@judgements_app.command("export")
@errors_are_messages
def export_judgements(
    gold: Annotated[Path, typer.Option("--gold", help="Write the judged articles to this gold file (JSONL; `defwatch eval FILE` reads it).")],
    db: DbOption = Path("defwatch.duckdb"),
) -> None:
    """Write the judged articles in the gold format: each article whose every event has been judged,
    with the events the analyst kept, as corrected."""
    from warehouse import judgements as wj

    n = wj.write_gold(db, gold)
    console.print(f"wrote {n} judged article{'s' if n != 1 else ''} to {gold}", highlight=False)

"""The ``defwatch`` command: a thin shell over flows/, extractors/ and warehouse/.

Heavy libraries (Prefect, trafilatura) are imported inside the commands that need them, so
``defwatch --help`` stays fast. This module is the table of contents: each command lives in the
module of its group, and is registered here in the order ``defwatch --help`` lists it.
"""

from __future__ import annotations

import atexit
import gc
import sys

import typer

from flows.alerts import notify
from flows.cli import alerts, events, extract, feeds, ingest, judge, maintenance, report

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
app.add_typer(feeds.feeds_app, name="feeds")
app.command()(ingest.ingest)
app.command()(ingest.demo)
app.command()(ingest.serve)
app.command()(events.query)
app.command()(events.events)
app.command()(judge.review)
app.command()(judge.judge)
app.add_typer(judge.judgements_app, name="judgements")
app.command()(events.export)
app.command()(ingest.reextract)
app.add_typer(alerts.alerts_app, name="alerts")
app.command()(report.digest)
app.command()(report.report)
app.command()(extract.extract)
app.command("eval")(extract.eval_cmd)
app.command()(maintenance.check)
app.command()(maintenance.backup)
app.command()(maintenance.restore)


def main() -> None:
    # Registered first, so it runs last: the interpreter's final garbage collection walks every
    # object Prefect and its server client created, 2 s after a run's work was done (measured on
    # a 304-only run). Frozen objects are left to the operating system; nothing of ours relies on
    # a finaliser at exit (connections and pools are closed by their `with` blocks).
    atexit.register(gc.freeze)
    # Tokens in DEFWATCH_NOTIFY stay in this process: the processes it starts inherit the environment.
    notify.take_from_environment()
    sys.exit(run(app))


def _no_type_for_flags() -> None:
    """Typer's help shows a flag's type as `<bool>`, a placeholder for a value a flag never
    takes: show nothing there (a flag is given or not)."""
    import typer.core as tcore

    shown = tcore.TyperOption.display_type_rich
    if getattr(shown, "_defwatch", False):
        return

    def display_type_rich(self, ctx):
        return None if getattr(self, "is_flag", False) else shown(self, ctx)

    display_type_rich._defwatch = True  # type: ignore[attr-defined]
    tcore.TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


def run(command: typer.Typer, args: list[str] | None = None) -> int:
    """Run the CLI; a usage error (unknown option, bad value, missing argument) is one line
    naming the problem and the command's --help, exit 2, instead of Click's boxed panel."""
    # Typer 0.2x carries its own copy of Click's exceptions (typer._click); Typer re-exports
    # only Abort and Exit, so the usage errors come from there.
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

    from flows.cli.output import say_error

    _no_type_for_flags()
    try:
        rv = command(args=args, prog_name="defwatch", standalone_mode=False)
    except NoArgsIsHelpError as exc:
        exc.show()  # `defwatch` or `defwatch feeds` alone: the help, as before
        return 0
    except UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "defwatch"
        message = exc.format_message().rstrip()
        say_error(f"{message}{'' if message.endswith('.') else '.'} See `{where} --help`.")
        return 2
    except ClickException as exc:  # a file option Click could not open, and the like
        say_error(exc.format_message())
        return 2
    except typer.Abort:
        say_error("interrupted.")
        return 130
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":
    main()

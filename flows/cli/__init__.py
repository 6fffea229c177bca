"""The ``defwatch`` command line: the Typer app (app.py), one module per command group, printing in output.py."""

from flows.cli.app import app, main

__all__ = ["app", "main"]

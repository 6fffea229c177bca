"""Prefect defaults for an offline, embedded run. Imported before prefect itself."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

# No internet: telemetry would log an ERROR on every run.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# The ephemeral server takes 8-15 s to start here; the 20 s default is too tight on a busy machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def quiet_heartbeats():
    """Flow heartbeats add ~1 s to every run of a short flow; ingest runs report progress themselves."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    return temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})


def _typed_error_names() -> set[str]:
    """Names of defwatch's own errors: those the CLI prints as one line (``errors_are_messages``)."""
    from flows.errors import DefwatchError
    from warehouse.db import WarehouseError

    names, todo = set(), [DefwatchError, WarehouseError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


class _TypedFailuresOff:
    """A filter for the terminal's log handlers: Prefect's lines about a flow or task run that failed
    with one of defwatch's own errors (the failure, its traceback, 'Finished in state Failed(...)').
    The CLI prints that error itself in one line; the Prefect server still records the failure."""

    def __init__(self) -> None:
        self.names = _typed_error_names()

    def filter(self, record) -> bool:
        if not record.name.startswith(("prefect.flow_runs", "prefect.task_runs")):
            return True
        if record.exc_info and record.exc_info[1] is not None:
            return type(record.exc_info[1]).__name__ not in self.names
        # 'Finished in state Failed('Flow run encountered an exception: DiskFullError: …')' (INFO
        # for a flow run, ERROR for a task run); the run's own warnings name no error class.
        message = record.getMessage()
        return not any(f"{name}:" in message or f"{name}(" in message for name in self.names)


@contextlib.contextmanager
def quiet_typed_failures() -> Iterator[None]:
    """While a flow runs from the CLI: no Prefect traceback before defwatch's one-line error."""
    import logging

    quiet = _TypedFailuresOff()
    handlers = [h for h in logging.getLogger().handlers if type(h).__name__ == "PrefectConsoleHandler"]
    for h in handlers:
        h.addFilter(quiet)
    try:
        yield
    finally:
        for h in handlers:
            h.removeFilter(quiet)

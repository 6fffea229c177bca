"""The --notify URLs of this process: handed from the command line to the flows in memory.

They hold tokens, so they are never Prefect parameters, stored values or the environment of the
processes a run starts (cleaning workers, a Prefect server). DEFWATCH_NOTIFY is read at the edge,
when no URL was handed over; `defwatch serve` alone puts the URLs into the environment, because
the runs it schedules are processes of their own.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

NOTIFY_ENV = "DEFWATCH_NOTIFY"

_handed: tuple[str, ...] = ()


def hand_over(urls: Iterable[str] | None) -> None:
    """The command line's --notify URLs, for the flows this process runs."""
    global _handed
    _handed = tuple(urls or ())


def notify_urls(environ: Mapping[str, str] | None = None) -> list[str]:
    """The URLs handed over, else those of DEFWATCH_NOTIFY (space-separated)."""
    if _handed:
        return list(_handed)
    return (os.environ if environ is None else environ).get(NOTIFY_ENV, "").split()


def export_for_child_runs(urls: Iterable[str] | None) -> None:
    """Put the URLs into this process's environment for runs that are processes of their own
    (``defwatch serve``)."""
    urls = list(urls or ())
    if urls:
        os.environ[NOTIFY_ENV] = " ".join(urls)

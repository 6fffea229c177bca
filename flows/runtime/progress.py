"""A tiny progress hook: tasks report, the CLI (if any) draws bars. Nothing happens without a reporter."""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    def start(self, stage: str, total: int) -> None: ...
    def advance(self, stage: str, n: int = 1) -> None: ...


_reporter: Reporter | None = None


def set_reporter(reporter: Reporter | None) -> None:
    global _reporter
    _reporter = reporter


def start(stage: str, total: int) -> None:
    if _reporter is not None:
        _reporter.start(stage, total)


def advance(stage: str, n: int = 1) -> None:
    if _reporter is not None:
        _reporter.advance(stage, n)

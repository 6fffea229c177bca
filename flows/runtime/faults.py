"""Crash points for the reliability tests: ``DEFWATCH_KILL_AT=point`` makes the process kill itself
(SIGKILL, no clean-up) when it reaches that point, as a power cut or OOM-kill would.
``DEFWATCH_KILL_AFTER=N`` lets the point pass N times first. Unset, this costs one dict lookup."""

from __future__ import annotations

import os
import signal

POINTS = (
    "after-feed-state",      # feed states written, no article yet
    "after-page-fetch",      # a batch fetched, not yet cleaned
    "after-clean",           # a batch cleaned, not yet stored
    "in-store-transaction",  # inside the batch transaction, before COMMIT
    "after-store",           # a batch committed (articles, events, alerts)
    "before-delivery",       # all batches stored, alerts not yet sent
    "after-send",            # a channel accepted an alert, not yet marked sent
    "after-delivery",        # alerts sent, run row not yet finished
)
_passed: dict[str, int] = {}


def checkpoint(point: str) -> None:
    target = os.environ.get("DEFWATCH_KILL_AT")
    if target != point:
        return
    _passed[point] = _passed.get(point, 0) + 1
    if _passed[point] > int(os.environ.get("DEFWATCH_KILL_AFTER", "0")):
        os.kill(os.getpid(), signal.SIGKILL)

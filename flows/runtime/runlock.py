"""One ingest run per database at a time, enforced with an OS file lock beside the database.

The lock dies with its process (kill -9 included), so a crashed run never blocks the next one.
It is re-entrant within a process: the CLI takes it around the whole flow call, so the flow's own
``run_lock`` finds it held by its caller and goes on (a loser of a race is then told in one line
by the CLI, before Prefect could log the refusal with a traceback).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from flows.errors import DefwatchError


class RunLockedError(DefwatchError):
    exit_code = 3


def _holder(fd: int) -> str:
    """The PID the holder wrote; it writes it just after taking the lock, so wait a moment for it."""
    for _ in range(20):
        pid = os.pread(fd, 32, 0).decode(errors="replace").strip()
        if pid:
            return pid
        time.sleep(0.025)
    return "unknown"


_held: dict[str, int] = {}  # lock files this process holds -> how many times (re-entry)


@contextlib.contextmanager
def run_lock(db: Path, wait_s: float = 0.0) -> Iterator[None]:
    path = Path(str(db) + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = os.path.realpath(path)
    if _held.get(key):  # this process holds it already (an OS lock would refuse a second descriptor)
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    deadline = time.monotonic() + wait_s
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _holder(fd)
                    raise RunLockedError(
                        f"Another ingest run (process {holder}) holds the database {db}. "
                        f"Wait for it to finish, or pass --wait SECONDS to queue behind it."
                    ) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        _held[key] = 1
        try:
            yield
        finally:
            _held.pop(key, None)
    finally:
        os.close(fd)  # closing the descriptor releases the lock

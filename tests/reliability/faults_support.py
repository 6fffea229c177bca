"""Helpers of the fault tests: the CLI as a child whose leftover processes are counted, not just
killed, and a file's hash (a diagnosis must not change the file it diagnoses)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str
    leftovers: list[str]     # processes of the child's group still alive after it exited

    @property
    def lines(self) -> list[str]:
        """Non-empty lines of stdout and stderr together."""
        return [line for line in (self.stdout + self.stderr).splitlines() if line.strip()]


def _group_members(pgid: int) -> list[str]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # fields after the command name (which may contain spaces) in parentheses: state ppid pgrp
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            out.append(f"{entry.name}: {cmd[:200]}")
    return out


def run_defwatch(args: list[str], env: dict[str, str], *, timeout: float = 300, settle_s: float = 5.0) -> Outcome:
    """``python -m flows.cli ARGS`` in its own process group. After it exits, whatever of its group
    is still alive ``settle_s`` later is a leftover (an orphaned Prefect server, a worker); it is
    recorded, then killed so that one failing test does not leak into the next."""
    # Output to files, not pipes: a leftover child holding an inherited pipe would block reading it.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "flows.cli", *args], cwd=REPO, env=env,
                                stdout=out, stderr=err, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    deadline = time.monotonic() + settle_s
    leftovers = _group_members(proc.pid)
    while leftovers and time.monotonic() < deadline:
        time.sleep(0.2)
        leftovers = _group_members(proc.pid)
    if leftovers:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return Outcome(proc.returncode, stdout, stderr, leftovers)


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()

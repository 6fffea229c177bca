"""Running ``defwatch`` as a user does: ``python -m flows.cli`` in a process of its own, real output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

DEFWATCH = [sys.executable, "-m", "flows.cli"]


def _env(extra: dict | None) -> dict:
    # Each run starts its own embedded Prefect server: a session's PREFECT_API_* would point it elsewhere.
    full = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    full.update({"COLUMNS": "200", **(extra or {})})
    return full


def defwatch(*args: str, cwd: Path | None = None, env: dict | None = None,
             timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``defwatch ARGS`` and wait; its stdout and stderr as text."""
    return subprocess.run([*DEFWATCH, *args], cwd=cwd or REPO, env=_env(env), capture_output=True,
                          text=True, timeout=timeout)


def defwatch_killable(*args: str, env: dict, tmp_path: Path, timeout: int = 300) -> tuple[int, str]:
    """Run defwatch in its own process group and wait for the main process only: a SIGKILLed
    process leaves its children (the embedded Prefect server, cleaning workers) holding the
    output pipes, so those are files here, and the group is cleaned up afterwards."""
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with open(out, "w") as o, open(err, "w") as e:
        proc = subprocess.Popen([*DEFWATCH, *args], cwd=REPO, env=_env(env), stdout=o, stderr=e,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return rc, err.read_text()

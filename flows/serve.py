"""Scheduled ingestion: ``flow.serve`` against a real Prefect server.

An ephemeral (embedded) Prefect server refuses schedules ("Cannot schedule flows on an ephemeral
server"), so ``defwatch serve`` uses the server that PREFECT_API_URL names, or starts a local
``prefect server start``, waits until it answers, and stops it on exit.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from flows.errors import DefwatchError

def _free_port(preferred: int) -> int:
    for port in ((preferred, 0) if preferred else (0,)):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise DefwatchError("no free local port for the Prefect server")


def wait_healthy(api_url: str, timeout_s: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise DefwatchError(f"`prefect server start` exited with code {proc.returncode} before it was ready.")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise DefwatchError(f"The Prefect server at {api_url} did not answer /health within {timeout_s:.0f} s.")


@dataclass
class ServeServer:
    """The Prefect server serve reports to: PREFECT_API_URL's (``proc`` None), or one it started."""

    api: str
    proc: subprocess.Popen | None = None
    log: Path | None = None

    def check(self) -> None:
        """Raise if the server this serve started has exited: asking it again would never succeed."""
        if self.proc is not None and self.proc.poll() is not None:
            where = f"; its log: {self.log}" if self.log is not None else ""
            raise DefwatchError(f"the Prefect server this serve started exited (code {self.proc.returncode}){where}. "
                                f"Start `defwatch serve` again.")


@contextlib.contextmanager
def prefect_server(port: int, console=None, database: Path | None = None) -> Iterator[ServeServer]:
    """A usable Prefect server: PREFECT_API_URL's, or a local one we start (its output goes to
    ``<database>.prefect-server.log``: a pipe nobody reads would stall it once full)."""
    given = os.environ.get("PREFECT_API_URL")
    if given:
        wait_healthy(given.rstrip("/"), 30)
        yield ServeServer(given.rstrip("/"))
        return
    port = _free_port(port)
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
           "PREFECT_UI_ENABLED": os.environ.get("PREFECT_UI_ENABLED", "true")}
    log_path = None
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
        log_path = database.with_name(database.name.removesuffix(".db") + ".log")
        if "PREFECT_API_DATABASE_CONNECTION_URL" not in os.environ:
            # Its own SQLite file: the shared ~/.prefect/prefect.db is also written by every embedded
            # server of other defwatch commands, and SQLite stalls under that contention.
            env["PREFECT_API_DATABASE_CONNECTION_URL"] = f"sqlite+aiosqlite:///{database}"
    if console is not None:
        console.print(f"starting a local Prefect server on 127.0.0.1:{port} …")
    with open(log_path or os.devnull, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=log, stderr=log, start_new_session=True,
        )
    try:
        wait_healthy(api, 120, proc)
        if console is not None:
            console.print(f"Prefect server ready: UI at http://127.0.0.1:{port}, API at {api}")
        yield ServeServer(api, proc, log_path)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def serve_ingest(db: Path, feeds_file: Path, interval_s: int | None, cron: str | None, port: int,
                 console=None, base_url: str | None = None, force: bool = False) -> None:
    """Serve the ingest flow on a schedule until interrupted. The scheduled runs execute in this
    process (``flows.runtime.scheduled_runs``); the server is recorded for the database
    (``ServerRecord``) so that a one-off ``defwatch ingest`` on it reports to the same server."""
    from flows.runtime.prefect_api import ServerRecord
    from flows.sources.registry import load_feeds

    load_feeds(feeds_file, base_url=base_url)  # fail on a bad registry before starting anything

    def _stop(signum, frame):  # SIGTERM (systemd, docker stop, kill) stops as cleanly as Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    say = console.print if console is not None else (lambda message: None)
    with prefect_server(port, console, database=Path(str(db.resolve()) + ".prefect-server.db")) as server:
        api = server.api
        os.environ["PREFECT_API_URL"] = api
        import flows.runtime.prefect_env  # noqa: F401

        from flows.ingest import ingest_flow
        from flows.runtime.scheduled_runs import serve_in_process

        what = f"every {interval_s} s, the first run now," if interval_s else f"on cron '{cron}'"
        say(f"serving the ingest flow {what} in this process; Ctrl-C stops it (and the server it started)")
        # Everything imported so far lives as long as serve: out of every later garbage collection.
        gc.freeze()
        from flows.runtime.prefect_env import quiet_heartbeats

        with ServerRecord(db).kept(api), quiet_heartbeats():
            serve_in_process(
                ingest_flow, name="defwatch-ingest", interval_s=interval_s, cron=cron, say=say, check=server.check,
                parameters={"db": str(db.resolve()), "feeds_file": str(feeds_file.resolve()),
                            "base_url": base_url, "force": force, "lock_wait_s": 600})

"""The Prefect API a command's flow runs report to: a running server if there is one, else an
embedded one started at once, in the background, while the command gets ready.

Where the API comes from, in this order:

1. ``PREFECT_API_URL``, when the user set it (their own server): in the environment, or in
   Prefect's profile or settings file (known only once Prefect is imported: ``wait_ready``);
2. the server ``defwatch serve`` runs for the same database: serve records it in
   ``<database>.prefect-server.json`` while it runs (``ServerRecord``), so a one-off ``ingest``
   beside a running serve reports to it, costs no start-up, and its runs show in the same UI;
3. an embedded server of this process's own, stopped when the command ends.

Why not Prefect's own embedded start (``get_client()`` with no API URL): it imports
``prefect.server`` into the command's process (2.6-2.9 s of CPU here) only to launch a subprocess
that imports it again, and the command then waits, idle, until that subprocess answers: ~7 s from
launch to the first request of an ``ingest``. Here the subprocess is launched before the pipeline
is imported, with the same command line and environment Prefect uses, and the two start-ups
overlap on two cores. The flow runs, their states and logs are the same: they go to a Prefect
server through Prefect's client.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from flows.errors import ConfigError

# Prefect's own default is 20 s; a start-up beside a busy cleaning pool on two cores can take longer.
STARTUP_TIMEOUT_S = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120"))


class PrefectUnavailable(ConfigError):
    """No Prefect API answers where one was expected: nothing was run."""


@dataclass
class PrefectApi:
    """The API URL flow runs report to, and where it came from (said to the user)."""

    url: str
    origin: str  # "embedded" | "serve" | "PREFECT_API_URL" | "settings"
    detail: str = ""
    server: EmbeddedServer | None = None

    def wait_ready(self, say: Callable[[str], None] | None = None) -> None:
        """Block until the API answers (at once for a server found running). Call it once Prefect
        is imported: a server named in Prefect's own settings (a profile, prefect.toml) rather than
        the environment is only known then; the embedded server is stopped and that one used."""
        if self.server is None:
            return
        configured = _configured_api_url()
        if configured:
            self.server.stop()
            self.server, self.url, self.origin = None, configured, "settings"
            if not healthy(configured, timeout_s=5.0):
                raise PrefectUnavailable(
                    f"the Prefect server at {configured} (PREFECT_API_URL in Prefect's profile or settings "
                    f"file) does not answer: start it, or remove that setting to run on an embedded server.")
            if say is not None:
                say(self.describe())
            return
        self.server.wait_ready()

    @contextlib.contextmanager
    def in_use(self) -> Iterator[None]:
        """Flow runs inside this block report to this API, whenever Prefect was imported."""
        from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, temporary_settings

        updates: dict = {PREFECT_API_URL: self.url}
        if self.server is not None:
            updates[PREFECT_UI_URL] = ""  # an embedded server has no UI: no "View at <link>" line
        with temporary_settings(updates):
            yield

    def describe(self) -> str:
        if self.origin == "serve":
            return f"using the Prefect server of `defwatch serve` ({self.detail}) at {self.url}"
        if self.origin == "PREFECT_API_URL":
            return f"using the Prefect server at {self.url} (PREFECT_API_URL)"
        if self.origin == "settings":
            return f"using the Prefect server at {self.url} (PREFECT_API_URL in Prefect's profile or settings file)"
        return f"started Prefect's embedded server at {self.url} (stopped when this command ends)"


def _configured_api_url() -> str | None:
    """PREFECT_API_URL as Prefect's settings have it without this module's help: from a profile,
    prefect.toml or pyproject.toml (the environment was read at start)."""
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    return url.rstrip("/") if url else None


def healthy(api_url: str, timeout_s: float = 2.0) -> bool:
    """True when ``GET {api_url}/health`` answers 200."""
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout_s) as r:
            return r.status == 200
    except (OSError, urllib.error.URLError, ValueError):
        return False


# -- the server `defwatch serve` runs for a database ------------------------------------------------

class ServerRecord:
    """``<database>.prefect-server.json``: the API of the Prefect server a running ``defwatch serve``
    uses for that database, with serve's process id. Written when serve's server is ready, removed
    when serve stops; a record whose process is gone or whose server does not answer is ignored."""

    def __init__(self, db: Path):
        self.path = Path(str(Path(db).resolve()) + ".prefect-server.json")

    def write(self, api_url: str) -> None:
        record = {"api_url": api_url, "pid": os.getpid(),
                  "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(tmp, self.path)

    def remove(self) -> None:
        """Remove the record if it is this process's (a newer serve may have replaced it)."""
        if self.read_raw().get("pid") == os.getpid():
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def read_raw(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def live(self) -> tuple[str, int] | None:
        """(API URL, serve's pid) of a serve that is running and whose server answers, else None."""
        data = self.read_raw()
        url, pid = data.get("api_url"), data.get("pid")
        if not isinstance(url, str) or not isinstance(pid, int) or not _process_alive(pid):
            return None
        return (url, pid) if healthy(url) else None

    @contextlib.contextmanager
    def kept(self, api_url: str) -> Iterator[None]:
        self.write(api_url)
        try:
            yield
        finally:
            self.remove()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- an embedded server of this process's own --------------------------------------------------------

def _die_with_parent() -> None:
    """In the server's process, before exec: SIGTERM when the command that started it dies (even by
    SIGKILL), so a killed ``ingest`` leaves no server behind. Linux only; elsewhere a no-op."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedServer:
    """Prefect's embedded API server (uvicorn with Prefect's app factory, as Prefect starts it), in
    a process of its own. ``start()`` returns at once; ``wait_ready()`` waits until it answers."""

    def __init__(self) -> None:
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self._stderr = tempfile.TemporaryFile()
        self._started_at = 0.0
        self._ready = False

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self) -> EmbeddedServer:
        self.port = _free_port()
        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
               "PREFECT__SERVER_FINAL": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
        env.pop("PREFECT_API_URL", None)
        # Automations (triggers and their actions) watch a standing server's events over time; this
        # one lives for one command. Starting them is 0.6 s of the server's ~3.5 s of start-up CPU.
        # `defwatch serve`'s server, or PREFECT_API_URL's, runs them; set this to true to have them here.
        env.setdefault("PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED", "false")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app",
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "error", "--lifespan", "on"],
            # In the command's process group, as Prefect starts it (a signal to the group reaches
            # both), and told to stop if the command dies without stopping it.
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr,
            preexec_fn=_die_with_parent,
        )
        self._started_at = time.monotonic()
        return self

    def wait_ready(self, timeout_s: float = STARTUP_TIMEOUT_S) -> None:
        if self._ready:
            return
        assert self.proc is not None, "start() first"
        retries = 2
        while True:
            if healthy(self.api_url, timeout_s=1.0):
                self._ready = True
                return
            code = self.proc.poll()
            if code is not None:
                # Another program took the port between our check and uvicorn's bind: try another.
                if retries and "address already in use" in self._stderr_tail().lower():
                    retries -= 1
                    self.start()
                    continue
                raise PrefectUnavailable(
                    f"Prefect's embedded server exited (code {code}) before it was ready: {self._stderr_tail()}. "
                    f"Check PREFECT_HOME's database (or set PREFECT_API_URL to a running server) and run again.")
            if time.monotonic() - self._started_at > timeout_s:
                self.stop()
                raise PrefectUnavailable(
                    f"Prefect's embedded server did not answer within {timeout_s:.0f} s. The machine may be "
                    f"overloaded: run again, raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, or set "
                    f"PREFECT_API_URL to a running Prefect server.")
            time.sleep(0.05)

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        lines = [ln.strip() for ln in self._stderr.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        return lines[-1] if lines else "it printed nothing"

    def stop(self) -> None:
        """SIGTERM and wait: the server writes what it was sent (events, logs) before it exits."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._stderr.close()


def _drain_prefect_workers() -> None:
    """Send the logs and events Prefect's background workers still hold, while the server is up."""
    if "prefect" not in sys.modules:
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(Exception):
            worker.drain_all(timeout=10)


@contextlib.contextmanager
def prefect_api(db: Path | None = None) -> Iterator[PrefectApi]:
    """The API for this command's flow runs (see the module docstring for the order). An embedded
    server is started here and stopped on leaving, after Prefect's queued logs and events are sent.
    Call ``wait_ready()`` before the first flow run; meanwhile the command can import and prepare."""
    given = os.environ.get("PREFECT_API_URL", "").strip()
    if given:
        url = given.rstrip("/")
        if not healthy(url, timeout_s=5.0):
            raise PrefectUnavailable(
                f"the Prefect server at {url} (PREFECT_API_URL) does not answer: start it, or unset "
                f"PREFECT_API_URL to run on an embedded server.")
        yield PrefectApi(url, "PREFECT_API_URL")
        return
    found = ServerRecord(db).live() if db is not None else None
    if found is not None:
        url, pid = found
        yield PrefectApi(url, "serve", detail=f"pid {pid}")
        return
    server = EmbeddedServer().start()
    interrupted = False
    try:
        yield PrefectApi(server.api_url, "embedded", server=server)
    except KeyboardInterrupt:
        interrupted = True  # Ctrl-C reached the server too (one process group): nothing to send to
        raise
    finally:
        try:
            if server._ready and not interrupted:
                _drain_prefect_workers()
        finally:
            server.stop()


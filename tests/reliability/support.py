"""Helpers of the reliability suite: the defwatch CLI as a killable child process, the demo corpus
on a real loopback server that can be slowed down, and content snapshots of a database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from flows.runtime.sample_server import SampleServer, _Handler as _SampleHandler
from tests.conftest import REPO

SAMPLES = REPO / "samples"
STABLE_ORIGIN = "http://site.invalid"

# Alerts go to the --notify channel only (no log/prefect channels), so every send is countable.
ALERT_CONFIG = """\
[[alerts.rules]]
name = "partnerships"
types = ["partnership"]
changes = ["new", "status"]
channels = []

[[alerts.rules]]
name = "summits"
types = ["summit"]
changes = ["upcoming", "overdue"]
channels = []
"""


# -- the CLI as a child process ---------------------------------------------------------------------

def child_env(api_url: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test's environment without any Prefect API address, plus ``api_url`` (a shared running
    Prefect server saves each child the 8-15 s start of an embedded one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "DEFWATCH_"))}
    env["COLUMNS"] = "200"
    env["DEFWATCH_CONFIG"] = str(REPO / "tests" / "support" / "no-config.toml")
    if api_url:
        env["PREFECT_API_URL"] = api_url
    env.update(extra or {})
    return env


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str
    elapsed_s: float
    pid: int
    max_rss_kb: int = 0   # peak RSS of the main process (os.wait4), in KiB

    def json(self) -> dict:
        return json.loads(self.stdout)


def run_cli(args: list[str], env: dict[str, str], workdir: Path, *, timeout: float = 300,
            while_running: Callable[[subprocess.Popen], None] | None = None, tag: str = "run") -> Finished:
    """Run ``python -m flows.cli ARGS`` in its own process group and wait for the main process only.

    A SIGKILLed defwatch leaves children (cleaning workers, an embedded Prefect server) holding
    inherited pipes, so output goes to files, and the whole group is killed afterwards.
    ``while_running(proc)`` runs in a thread while the child runs (to kill it from outside)."""
    out, err = workdir / f"{tag}.stdout", workdir / f"{tag}.stderr"
    started = time.monotonic()
    with open(out, "w") as o, open(err, "w") as e:
        proc = subprocess.Popen([sys.executable, "-m", "flows.cli", *args], cwd=REPO, env=env, stdout=o,
                                stderr=e, start_new_session=True)
        # Only this function reaps the child (os.wait4 gives its peak memory): a watcher's
        # proc.poll() just reports the return code once it is known.
        proc.poll = lambda: proc.returncode  # type: ignore[method-assign]
        watcher = None
        if while_running is not None:
            watcher = threading.Thread(target=while_running, args=(proc,), daemon=True)
            watcher.start()
        rc, rss = None, 0
        try:
            deadline = time.monotonic() + timeout
            while rc is None:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid == proc.pid:
                    rc = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
                    rss = usage.ru_maxrss
                    proc.returncode = rc
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"defwatch {' '.join(args)} did not finish within {timeout} s")
                time.sleep(0.05)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if proc.returncode is None:
                os.waitpid(proc.pid, 0)
                proc.returncode = -signal.SIGKILL
            if watcher is not None:
                watcher.join(timeout=10)
    return Finished(rc, out.read_text(), err.read_text(), time.monotonic() - started, proc.pid, rss)


# -- the demo corpus on a server that can be slowed down --------------------------------------------

class _SlowHandler(_SampleHandler):
    def do_GET(self) -> None:  # noqa: N802
        with self.server._lock:
            self.server.arrivals.append(self.path)
        delay = self.server.delays.get(self.path.split("/")[1], 0.0)
        if delay:
            time.sleep(delay)
        super().do_GET()


class SlowSampleServer(SampleServer):
    """``samples/`` over HTTP on 127.0.0.1, like the demo; ``delays['articles'] = 0.3`` makes every
    article page wait before answering (so a test can kill the client while pages are in flight)."""

    def __init__(self, root: Path = SAMPLES):
        self.delays: dict[str, float] = {}
        self.arrivals: list[str] = []   # paths as requests arrive (before any delay)
        super().__init__(root)
        self.RequestHandlerClass = _SlowHandler

    def start(self) -> SlowSampleServer:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def arrived(self, prefix: str) -> int:
        with self._lock:
            return sum(1 for path in self.arrivals if path.startswith(prefix))


def write_registry(workdir: Path, base_url: str) -> Path:
    """The demo registry with the server's real address (``defwatch ingest`` takes no base URL)."""
    text = (SAMPLES / "feeds.toml").read_text().replace("{{BASE_URL}}", base_url)
    path = workdir / "feeds.toml"
    path.write_text(text)
    return path


# -- what a database holds, comparable across servers on different ports ----------------------------

@dataclass
class Snapshot:
    articles: list[tuple]
    events: list[tuple]
    mentions: list[tuple]
    alerts: list[tuple]
    deliveries: Counter = field(default_factory=Counter)   # status -> count
    runs: list[tuple] = field(default_factory=list)

    def content(self) -> dict:
        return {"articles": self.articles, "events": self.events, "event_mentions": self.mentions,
                "alerts": self.alerts}


def snapshot(db: Path, base_url: str) -> Snapshot:
    """The content of the event log with the server's origin replaced by a stable one, and every
    article id replaced by its (stable) URL, so runs against servers on different ports compare."""

    def norm(v):
        if isinstance(v, str):
            return v.replace(base_url, STABLE_ORIGIN)
        if isinstance(v, (list, tuple)):
            return tuple(norm(x) for x in v)
        return v

    with duckdb.connect(str(db), read_only=True) as con:
        url_of = {aid: norm(url) for aid, url in con.execute("SELECT article_id, url FROM articles").fetchall()}
        # Ids depend on the origin; URLs (normalised) identify articles across servers.
        articles = sorted(
            (norm(url), norm(orig), feed, norm(title), text_source, content_hash, url_of.get(dup) if dup else None,
             str(published), md5)
            for url, orig, feed, title, text_source, content_hash, dup, published, md5 in con.execute(
                "SELECT url, original_url, feed_name, title, text_source, content_hash, duplicate_of, published, "
                "md5(coalesce(text, '')) FROM articles").fetchall())
        events = sorted(
            (eid, typ, tuple(parties), status, str(date), location, norm(evidence), url_of.get(art),
             mentions, retracted)
            for eid, typ, parties, status, date, location, evidence, art, mentions, retracted in con.execute(
                "SELECT event_id, type, parties, status, date, location, evidence, evidence_article_id, "
                "mention_count, retracted_at IS NOT NULL FROM events").fetchall())
        mentions = sorted(
            (eid, url_of.get(aid, aid), norm(evidence), status, str(date), location, rule, retracted)
            for eid, aid, evidence, status, date, location, rule, retracted in con.execute(
                "SELECT event_id, article_id, evidence, status, date, location, rule, retracted_at IS NOT NULL "
                "FROM event_mentions").fetchall())
        alerts = sorted(con.execute("SELECT alert_id, event_id, kind, value, old_value FROM alerts").fetchall())
        deliveries = Counter(s for (s,) in con.execute("SELECT status FROM alert_deliveries").fetchall())
        runs = con.execute("SELECT status, articles_new FROM runs ORDER BY started_at").fetchall()
    return Snapshot(articles, events, mentions, alerts, deliveries, runs)


def received_alert_ids(receiver, path: str) -> Counter:
    """Alert ids the webhook receiver got on ``path`` (apprise json:// puts the text in 'message')."""
    with receiver.lock:
        msgs = [m for m in receiver.received if m.path == path]
    return Counter(m.json()["message"].rsplit("alert ", 1)[1].strip() for m in msgs)


def query_db(db: Path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()

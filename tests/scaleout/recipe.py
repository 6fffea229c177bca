"""Running docs/SCALING.md's recipe as written, for the tests: the shell block between the
``recipe:begin``/``recipe:end`` markers, in parts (``# 1.`` … ``# 4.``), with every name it uses
made unique through the variables its part 1 reads, in a process group the test owns.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "SCALING.md"
SAMPLES = REPO / "samples"
PG = "host=127.0.0.1 port=5432 user=postgres"

# What one process and a fan-out must agree on (syndicated copies: mentions by content hash).
EVENTS = ("SELECT event_id, type, parties, status, date, date_precision, location, mention_count, "
          "retracted_at IS NULL FROM events")
MENTIONS = ("SELECT m.event_id, a.content_hash, m.status, m.date, m.location, m.retracted_at IS NULL "
            "FROM event_mentions m JOIN articles a USING (article_id)")


def recipe_parts() -> dict[int, str]:
    """{part number: its shell text} of the recipe block in docs/SCALING.md."""
    text = DOC.read_text(encoding="utf-8")
    m = re.search(r"<!-- recipe:begin -->\s*```sh\n(.*?)```\s*<!-- recipe:end -->", text, re.S)
    assert m, "docs/SCALING.md has no recipe block between <!-- recipe:begin --> and <!-- recipe:end -->"
    parts, current = {}, None
    for line in m.group(1).splitlines(keepends=True):
        head = re.match(r"# (\d)\. ", line)
        if head:
            current = int(head.group(1))
        if current is not None:
            parts[current] = parts.get(current, "") + line
    assert sorted(parts) == [1, 2, 3, 4], f"recipe parts found: {sorted(parts)}"
    return parts


def skip_reason() -> str | None:
    from warehouse import backend

    for tool in ("psql", "createdb", "dropdb", "curl", "bash"):
        if shutil.which(tool) is None:
            return f"the recipe needs `{tool}` on PATH"
    return backend.extensions_available() or backend.postgres_reachable(f"dbname=postgres {PG}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rendered_feeds(base_url: str, out: Path) -> Path:
    """samples/feeds.toml with the loopback server's address in place of {{BASE_URL}}."""
    out.write_text((SAMPLES / "feeds.toml").read_text(encoding="utf-8").replace("{{BASE_URL}}", base_url))
    return out


class Recipe:
    """The recipe's environment and processes: unique databases, port, data path and logs."""

    def __init__(self, tmp: Path, feeds_file: Path):
        tag = uuid.uuid4().hex[:8]
        self.tmp = tmp
        self.logs = tmp / "logs"
        self.prefect_db, self.lake_db = f"dwrecipe_prefect_{tag}", f"dwrecipe_lake_{tag}"
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("PREFECT_", "DEFWATCH_"))}
        self.env.update(
            PATH=f"{REPO / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
            PREFECT_HOME=str(tmp / "prefect-home"), PREFECT_PORT=str(_free_port()),
            PREFECT_PG_DB=self.prefect_db, DEFWATCH_PG_DB=self.lake_db,
            DEFWATCH_DUCKLAKE_DATA_PATH=str(tmp / "lake") + "/", DEFWATCH_FEEDS_FILE=str(feeds_file),
            DEFWATCH_LOGS=str(self.logs), DEFWATCH_CONFIG=str(REPO / "tests" / "support" / "no-config.toml"),
        )
        self.groups: list[subprocess.Popen] = []

    def run(self, script: str, timeout: float) -> subprocess.CompletedProcess:
        """Run shell text in a new process group (its background servers and workers stay in it
        until ``stop``)."""
        p = subprocess.Popen(["bash", "-euo", "pipefail", "-c", script], cwd=REPO, env=self.env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.groups.append(p)
        out, _ = p.communicate(timeout=timeout)
        return subprocess.CompletedProcess(p.args, p.returncode, out, "")

    def start(self, script: str) -> subprocess.Popen:
        p = subprocess.Popen(["bash", "-euo", "pipefail", "-c", script], cwd=REPO, env=self.env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.groups.append(p)
        return p

    def log_tail(self, n: int = 3000) -> str:
        if not self.logs.is_dir():
            return ""
        return "".join(f"\n--- {f.name}\n{f.read_text(errors='replace')[-n:]}" for f in sorted(self.logs.iterdir()))

    def lake_env(self) -> dict[str, str]:
        return {"DEFWATCH_WAREHOUSE": "ducklake",
                "DEFWATCH_DUCKLAKE_CATALOG": f"postgres:dbname={self.lake_db} {PG}",
                "DEFWATCH_DUCKLAKE_DATA_PATH": self.env["DEFWATCH_DUCKLAKE_DATA_PATH"],
                "DEFWATCH_DUCKLAKE_SCHEMA": "defwatch"}

    def stop(self) -> None:
        """End every process the recipe started, then drop its databases. Its background servers
        and workers stay in the recipe's process groups; a worker starts each flow run in a
        session of its own, so those are found as the workers' descendants."""
        pids: list[int] = []
        for p in self.groups:
            for pid in in_group(p.pid):
                pids += [q for q in subtree(pid) if q not in pids]
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)
            if sig == signal.SIGTERM:
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline and any(Path(f"/proc/{q}").exists() for q in pids):
                    time.sleep(0.2)
        for p in self.groups:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=5)
        for db in (self.prefect_db, self.lake_db):
            subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", db],
                           capture_output=True, timeout=60)


def lake_rows(env: dict[str, str], sql: str, monkeypatch) -> list[tuple]:
    from warehouse import backend
    from warehouse.db import read_connection

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    try:
        with read_connection(Path("unused")) as con:
            return con.execute(sql).fetchall()
    finally:
        backend.close_pool()


def one_process(feeds_file: Path, db: Path, monkeypatch) -> None:
    """The reference: the ordinary ``ingest`` flow, one process, the embedded DuckDB file."""
    from flows.ingest import ingest_flow

    for k in [k for k in os.environ if k.startswith("DEFWATCH_DUCKLAKE") or k in ("DEFWATCH_WAREHOUSE", "DEFWATCH_SHARD")]:
        monkeypatch.delenv(k)
    summary = ingest_flow(db=str(db), feeds_file=str(feeds_file), force=True)
    assert summary["status"] == "completed" and summary["articles_new"] > 0, summary


def file_rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def as_set(rows) -> set:
    return {tuple(tuple(v) if isinstance(v, list) else v for v in r) for r in rows}


def require_recipe_services() -> None:
    why = skip_reason()
    if why:
        pytest.skip(f"the scale-out recipe needs PostgreSQL, the DuckDB extension packages and its tools: {why}")


# -- slow pages and killing one worker (the lost-worker test) ------------------------------------

@contextlib.contextmanager
def slow_samples(delay_s: float):
    """samples/ on loopback with every article page ``delay_s`` late (feeds answer at once), so a
    shard run is still fetching when the test kills its worker."""
    import threading
    import time

    from flows.runtime import sample_server

    class SlowHandler(sample_server._Handler):
        def do_GET(self):  # noqa: N802
            if not self.path.startswith("/feeds/"):
                time.sleep(delay_s)
            super().do_GET()

    server = sample_server.SampleServer(SAMPLES)
    server.RequestHandlerClass = SlowHandler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _proc(pid: int, what: str) -> str:
    try:
        return Path(f"/proc/{pid}/{what}").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        out += [int(c) for c in _proc(pid, f"task/{task.name}/children").split()]
    return out


def subtree(pid: int) -> list[int]:
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _children(p)
    return seen


def in_group(pgid: int) -> list[int]:
    """Every process of a process group (background processes outlive the shell that started
    them, so they are found by group, not by parent)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _proc(int(stat.parent.name), "stat").rsplit(")", 1)[-1].split()
        if len(fields) > 2 and int(fields[2]) == pgid:
            out.append(int(stat.parent.name))
    return out


def busy_shard_worker(pgid: int, logs: Path) -> int | None:
    """The pid of a shard worker of process group ``pgid`` whose shard is fetching pages now (its
    log, ``worker-N.log``, says the ingest started and has not finished)."""
    for pid in in_group(pgid):
        cmd = _proc(pid, "cmdline").split("\0")
        if "worker" in cmd and "shards" in cmd and "--name" in cmd:
            name = cmd[cmd.index("--name") + 1]  # shard-worker-N
            log = logs / f"worker-{name.rsplit('-', 1)[-1]}.log"
            text = log.read_text(errors="replace") if log.exists() else ""
            if "new articles to fetch" in text and "articles fetched and cleaned" not in text:
                return pid
    return None


def kill_tree(pid: int) -> list[int]:
    """SIGKILL a process and everything under it (a machine that dies), the parent first so that
    it cannot report anything."""
    pids = subtree(pid)
    for p in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)
    return pids

"""The whole scale-out path with real Prefect parts: `prefect server start`, a process work pool,
three `prefect worker start` processes, the deployments, and the fan-out coordinator — into one
DuckLake. Slow (about a minute and a half): marked `slow`."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.scaleout.conftest import lake_rows

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
PREFECT = str(Path(sys.executable).parent / "prefect")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(procs):
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def test_fanout_through_a_process_work_pool(lake, tmp_path):
    from flows.runtime.sample_server import serve_directory
    from warehouse import store
    from warehouse.db import read_connection

    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(lake, PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_API_URL=api,
               PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1", PYTHONPATH=str(REPO),
               DEFWATCH_CONFIG=str(REPO / "tests" / "support" / "no-config.toml"))
    pool = f"defwatch-test-{uuid.uuid4().hex[:6]}"
    procs: list[subprocess.Popen] = []
    logs = tmp_path / "logs"
    logs.mkdir()

    def spawn(name: str, argv: list[str]) -> subprocess.Popen:
        out = open(logs / f"{name}.log", "w")
        p = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        procs.append(p)
        return p

    def run(argv: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)

    try:
        spawn("server", [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)])
        deadline = time.monotonic() + 180
        while True:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(api + "/health", timeout=2):
                    break
            assert time.monotonic() < deadline, "prefect server did not start within 180 s"
            time.sleep(0.5)
        r = run([PREFECT, "work-pool", "create", pool, "--type", "process"])
        assert r.returncode == 0, r.stdout + r.stderr
        r = run([sys.executable, "-m", "flows.distributed", "deploy", "--pool", pool])
        assert r.returncode == 0, r.stdout + r.stderr
        # The documented alternative to `prefect deploy --all` keeps prefect.yaml's limit of one fan-out.
        with urllib.request.urlopen(api + "/deployments/name/ingest-fanout/defwatch-fanout", timeout=10) as resp:
            fanout_dep = json.loads(resp.read())
        assert (fanout_dep.get("global_concurrency_limit") or {}).get("limit") == 1, fanout_dep
        for i in range(3):
            spawn(f"worker{i}", [PREFECT, "worker", "start", "--pool", pool, "--name", f"w{i}", "--limit", "1"])
        with serve_directory(SAMPLES) as server:
            r = run([sys.executable, "-m", "flows.distributed", "fanout", "--shards", "3", "--feeds",
                     str(SAMPLES / "feeds.toml"), "--base-url", server.base_url, "--force", "--db",
                     str(tmp_path / "runs")], timeout=400)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:] + "".join(
            (logs / f"worker{i}.log").read_text()[-2000:] for i in range(3))
    finally:
        _stop(procs[1:])
        _stop(procs[:1])

    assert lake_rows("SELECT count(*), count(*) FILTER (status = 'completed'), sum(feeds_due) FROM runs") == [(3, 3, 4)]
    assert lake_rows("SELECT count(*) FROM articles")[0][0] > 20
    assert lake_rows("SELECT count(*) FROM events")[0][0] > 5
    with read_connection("unused") as con:
        assert store.duplicate_keys(con) == {}
    served = {i for i in range(3) if "Completed" in (logs / f"worker{i}.log").read_text()}
    assert served, "no worker ran a flow"

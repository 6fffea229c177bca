"""Scale-out through the real pool: submit -> completion of a fan-out with 1, 2 and 3 shard
workers, against one process on the same corpus in the same run, with slow and fast pages.

    python benchmarks/scaleout.py                # 12 feeds x 8 articles, pages 0 s and 1.5 s late, 3 repeats
    python benchmarks/scaleout.py --quick        # 6 feeds x 4 articles, fast pages, 2 workers, once (CI smoke)

What runs is the recipe of docs/SCALING.md: a Prefect server on PostgreSQL, a process work pool,
the deployments (``python -m flows.distributed deploy``), one coordinator worker and N shard
workers (``--limit 1``, ``PREFECT_WORKER_QUERY_SECONDS=2``), each fan-out into a fresh DuckLake
(its own PostgreSQL schema and data folder; the shard workers are restarted with it, before the
clock starts). The clock starts when the fan-out is submitted (``run_deployment``) and stops when
it is Completed: what an operator waits. One process is ``python -m flows.distributed worker
--shard 0/1`` (the ``ingest`` flow on every feed, against the same server), launch -> exit.

Where the time goes, from the flow runs' own timestamps (medians): the coordinator's pick-up (submit
-> its flow starts: worker poll + process start + pull step), each shard's pick-up (created ->
started) and run (started -> ended), and the coordinator's tail (last shard ended -> completed).

Every figure is a median over --repeat runs, with the ratio to one process's median of the same
run. Needs PostgreSQL at 127.0.0.1:5432 (DEFWATCH_BENCH_PG) and the DuckDB extension packages;
prints "SKIP …" and exits 0 without them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import _lib
from _lib import median, result, section

from warehouse import backend

PG = os.environ.get("DEFWATCH_BENCH_PG", "host=127.0.0.1 port=5432 user=postgres")
PREFECT = str(Path(_lib.PY).parent / "prefect")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"dbname=postgres {PG}", autocommit=True) as con:
        con.execute(sql)


class Cluster:
    """Prefect server on PostgreSQL, pool, deployments, a coordinator worker, shard workers."""

    def __init__(self, tmp: Path, shard_workers: int):
        self.tmp, self.n = tmp, shard_workers
        self.tag = uuid.uuid4().hex[:8]
        self.prefect_db = f"dwbench_prefect_{self.tag}"
        self.pool = f"dwbench-{self.tag}"
        port = free_port()
        self.api = f"http://127.0.0.1:{port}/api"
        self.env = _lib.bench_env(tmp, PREFECT_HOME=str(tmp / "prefect-home"), PREFECT_API_URL=self.api,
                                  PREFECT_WORKER_QUERY_SECONDS="2", PREFECT_FLOWS_HEARTBEAT_FREQUENCY="30",
                                  DEFWATCH_CONFIG=str(_lib.ROOT / "tests" / "support" / "no-config.toml"))
        self.procs: list[subprocess.Popen] = []
        self.shard_procs: list[subprocess.Popen] = []
        pg(f'CREATE DATABASE "{self.prefect_db}"')
        server_env = dict(self.env, PREFECT_API_DATABASE_CONNECTION_URL=(
            f"postgresql+asyncpg://postgres@127.0.0.1:5432/{self.prefect_db}"))
        self.procs.append(self._spawn([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                      server_env, "server"))
        deadline = time.time() + 180
        while True:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(self.api + "/health", timeout=2):
                    break
            if time.time() > deadline:
                raise RuntimeError("prefect server did not start within 180 s")
            time.sleep(0.5)
        for argv in ([PREFECT, "work-pool", "create", self.pool, "--type", "process"],
                     [_lib.PY, "-m", "flows.distributed", "deploy", "--pool", self.pool]):
            subprocess.run(argv, cwd=_lib.ROOT, env=self.env, check=True, capture_output=True, timeout=300)
        self.procs.append(self._spawn([PREFECT, "worker", "start", "--pool", self.pool, "--work-queue", "coordinator",
                                       "--name", "coordinator"], self.env, "coordinator"))

    def _spawn(self, argv, env, name) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "a")
        return subprocess.Popen(argv, cwd=_lib.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def lake(self, name: str) -> dict[str, str]:
        """A fresh DuckLake; the coordinator reads it through the environment of its flow run, so
        its worker is given it as well (through the pool's job variables: see fanout())."""
        data = self.tmp / f"lake-{name}"
        data.mkdir()
        return {"DEFWATCH_WAREHOUSE": "ducklake", "DEFWATCH_DUCKLAKE_CATALOG": f"postgres:dbname=test {PG}",
                "DEFWATCH_DUCKLAKE_DATA_PATH": str(data) + "/", "DEFWATCH_DUCKLAKE_SCHEMA": f"dwbench_{name}"}

    def restart_shard_workers(self, lake: dict[str, str]) -> None:
        for p in self.shard_procs:
            _stop(p)
        env = dict(self.env, **lake)
        self.shard_procs = [self._spawn([PREFECT, "worker", "start", "--pool", self.pool, "--work-queue", "shards",
                                         "--limit", "1", "--name", f"shard-{i}"], env, f"shard-{i}")
                            for i in range(self.n)]
        time.sleep(8)  # started and polling before the clock starts (a running worker, as in production)

    def fanout(self, shards: int, feeds: Path, lake: dict[str, str]) -> dict:
        """Submit the fan-out; wait for its end. Returns the wall time and the runs' timestamps."""
        from prefect import get_client
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterStartTime
        from prefect.deployments import run_deployment
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: self.api}):
            t0 = time.time()
            run = run_deployment("ingest-fanout/defwatch-fanout", timeout=None, as_subflow=False, poll_interval=1,
                                 parameters={"shards": shards, "feeds_file": str(feeds), "force": True,
                                             "deliver": False},
                                 job_variables={"env": lake})
            wall = time.time() - t0
            if not run.state.is_completed():
                tails = "".join(f"\n--- {f.name}\n" + f.read_text(errors="replace")[-3000:]
                                for f in sorted(self.tmp.glob("*.log")) if f.name != "server.log")
                raise RuntimeError(f"fan-out ended {run.state.name}; the workers' logs:{tails}")
            with get_client(sync_client=True) as client:
                runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(
                    after_=run.start_time)), limit=200)
        shards_runs = [r for r in runs if r.parent_task_run_id and r.id != run.id
                       and any(t.startswith("shard-") for t in r.tags)]
        return {"wall": wall, "coordinator_pickup": run.start_time.timestamp() - t0,
                "shard_pickup": median([(r.start_time - r.created).total_seconds() for r in shards_runs]),
                "shard_run": median([(r.end_time - r.start_time).total_seconds() for r in shards_runs]),
                "tail": run.end_time.timestamp() - max(r.end_time.timestamp() for r in shards_runs)}

    def one_process(self, feeds: Path, lake: dict[str, str]) -> float:
        env = dict(self.env, **lake)
        t0 = time.time()
        subprocess.run([_lib.PY, "-m", "flows.distributed", "worker", "--shard", "0/1", "--feeds", str(feeds),
                        "--force", "--db", str(self.tmp / "one-process")], cwd=_lib.ROOT, env=env, check=True,
                       capture_output=True, timeout=1800)
        return time.time() - t0

    def close(self) -> None:
        for p in [*self.shard_procs, *self.procs[::-1]]:
            _stop(p)
        with contextlib.suppress(Exception):
            pg(f'DROP DATABASE IF EXISTS "{self.prefect_db}" WITH (FORCE)')


def _stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def drop_lake(lake: dict[str, str]) -> None:
    with contextlib.suppress(Exception):
        import psycopg

        with psycopg.connect(f"dbname=test {PG}", autocommit=True) as con:
            con.execute(f'DROP SCHEMA IF EXISTS "{lake["DEFWATCH_DUCKLAKE_SCHEMA"]}" CASCADE')


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--feeds", type=int)
    ap.add_argument("--items", type=int)
    ap.add_argument("--latencies", default=None, help="page delays in seconds, e.g. 0,1.5")
    ap.add_argument("--workers", default=None, help="shard workers per fan-out, e.g. 1,2,3")
    ap.add_argument("--repeat", type=int, default=None)
    a = ap.parse_args()
    latencies = [float(x) for x in (a.latencies or ("0" if a.quick else "0,1.5")).split(",")]
    counts = [int(x) for x in (a.workers or ("2" if a.quick else "1,2,3")).split(",")]
    a.feeds = a.feeds or (6 if a.quick else 12)
    a.items = a.items or (4 if a.quick else 8)
    repeat = a.repeat or (1 if a.quick else 3)

    why = backend.extensions_available() or backend.postgres_reachable(f"dbname=test {PG}")
    if why:
        print(f"SKIP scaleout: {why}")
        return 0
    _lib.print_machine()
    with _lib.workdir("scaleout") as tmp:
        cluster = Cluster(tmp, max(counts))
        try:
            for latency in latencies:
                kind = "slow" if latency >= 0.5 else "fast"
                section(f"scale-out, {kind} pages: {a.feeds} feeds x {a.items} articles, {latency:g} s per page; "
                        f"load average {os.getloadavg()[0]:.2f} at the start")
                with _lib.Web(feeds=a.feeds, items=a.items, hosts=a.feeds, latency_s=latency) as web:
                    feeds = tmp / f"feeds-{kind}.toml"
                    web.write_feeds_toml(feeds)
                    single, fan = [], {n: [] for n in counts}
                    for rep in range(repeat):
                        lake = cluster.lake(f"{kind}_one_{rep}_{cluster.tag}")
                        single.append(cluster.one_process(feeds, lake))
                        drop_lake(lake)
                        for n in counts:
                            lake = cluster.lake(f"{kind}_{n}_{rep}_{cluster.tag}")
                            cluster.restart_shard_workers(lake)
                            fan[n].append(cluster.fanout(n, feeds, lake))
                            drop_lake(lake)
                    base = median(single)
                    result(f"scaleout.{kind}.one_process_s", base, "s",
                           note=f"launch -> exit, runs {[round(x, 1) for x in single]}")
                    for n in counts:
                        walls = [r["wall"] for r in fan[n]]
                        m = median(walls)
                        result(f"scaleout.{kind}.workers_{n}_s", m, "s", ratio=base / m,
                               note=(f"submit -> completed, runs {[round(x, 1) for x in walls]}; ratio = one process / "
                                     f"fan-out (above 1: faster). Medians: coordinator pick-up "
                                     f"{median([r['coordinator_pickup'] for r in fan[n]]):.1f} s, shard pick-up "
                                     f"{median([r['shard_pickup'] for r in fan[n]]):.1f} s, shard run "
                                     f"{median([r['shard_run'] for r in fan[n]]):.1f} s, tail "
                                     f"{median([r['tail'] for r in fan[n]]):.1f} s"))
                    print(f"load average after: {os.getloadavg()}", flush=True)
        finally:
            cluster.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

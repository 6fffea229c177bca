"""Scale-out: 1, 2 and 3 workers ingesting disjoint shards into one DuckLake (PostgreSQL catalog).

    python benchmarks/scaleout.py            # 40 feeds x 15 articles, 200 ms per request
    python benchmarks/scaleout.py --quick    # 12 feeds x 8 articles (CI smoke)

Alert rules are switched off in the workers (see the note in main()).

A generated corpus (benchmarks/_corpus.py) is served by benchmarks/_server.py on loopback, one site
per feed, every request delayed by --latency. One Prefect server runs for the whole benchmark
(as in production: workers talk to a running server). For each N, a fresh DuckLake is created
(its own PostgreSQL schema and data folder) and N processes run ``python -m flows.distributed
worker --shard i/N`` at once.

Each worker models one machine with a bounded network budget (fetch concurrency --concurrency,
default 4 requests in flight; 1 cleaning process): the work is network-bound, as it is for a real
crawler, so N workers should approach N times the throughput until the shared writer lock or this
box's 2 cores become the limit. Throughput = new articles / (last worker exit - first request);
the launch-to-exit figure includes each process's start-up (imports, Prefect client).

Needs PostgreSQL at 127.0.0.1:5432 (DEFWATCH_BENCH_PG to change) and the DuckDB extension packages;
prints "SKIP …" and exits 0 without them.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import time
import urllib.request
import uuid

import _lib
from _lib import result, section

from warehouse import backend

CONNINFO = os.environ.get("DEFWATCH_BENCH_PG", "dbname=test host=127.0.0.1 port=5432")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_prefect(tmp) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = _lib.bench_env(tmp, PREFECT_HOME=str(tmp / "prefect-home"))
    proc = subprocess.Popen([_lib.PY, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("prefect server did not start within 180 s")


def run_workers(n: int, tmp, feeds_toml, api_url: str, overrides: dict) -> dict:
    schema = f"dwbench_{uuid.uuid4().hex[:8]}"
    data = tmp / f"lake-{n}"
    data.mkdir()
    env = _lib.bench_env(tmp, PREFECT_API_URL=api_url, PREFECT_HOME=str(tmp / "prefect-home"),
                         DEFWATCH_WAREHOUSE="ducklake", DEFWATCH_DUCKLAKE_CATALOG=f"postgres:{CONNINFO}",
                         DEFWATCH_DUCKLAKE_DATA_PATH=str(data) + "/", DEFWATCH_DUCKLAKE_SCHEMA=schema,
                         DEFWATCH_CONFIG=str(_lib.ROOT / "tests" / "support" / "no-config.toml"))
    t0 = time.time()
    procs = [subprocess.Popen([_lib.PY, "-m", "flows.distributed", "worker", "--shard", f"{i}/{n}",
                               "--db", str(tmp / f"runs-{n}"), "--feeds", str(feeds_toml), "--force",
                               "--overrides", json.dumps(overrides)],
                              cwd=_lib.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(n)]
    summaries = []
    for p in procs:
        out, err = p.communicate(timeout=1800)
        if p.returncode != 0:
            raise RuntimeError(f"worker exited {p.returncode}: {err[-3000:]}")
        summaries.append(json.loads(out.strip().splitlines()[-1]))
    t1 = time.time()
    import psycopg

    with psycopg.connect(CONNINFO, autocommit=True) as pg:
        pg.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return {"t_launch": t0, "t_exit": t1, "articles": sum(s["articles_new"] for s in summaries),
            "summaries": summaries}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--feeds", type=int)
    ap.add_argument("--items", type=int)
    ap.add_argument("--latency", type=float, default=0.2, help="seconds added to every request")
    ap.add_argument("--concurrency", type=int, default=4, help="requests in flight per worker")
    ap.add_argument("--workers", default="1,2,3")
    a = ap.parse_args()
    feeds = a.feeds or (12 if a.quick else 40)
    items = a.items or (8 if a.quick else 15)

    why = backend.extensions_available() or backend.postgres_reachable(CONNINFO)
    if why:
        print(f"SKIP scaleout: {why}")
        return 0
    section(f"scale-out: {feeds} feeds x {items} articles, {a.latency * 1000:.0f} ms per request, "
            f"{a.concurrency} requests in flight per worker")
    # Alert rules off: delivery is one small commit per alert (measured on its own elsewhere), and
    # shard workers would each deliver the shared outbox (see docs/SCALING.md).
    overrides = {"workers": 1, "fetch": {"concurrency": a.concurrency, "per_host": a.concurrency},
                 "alerts": {"rules": []}}
    counts = [int(x) for x in a.workers.split(",")]
    with _lib.workdir("scaleout") as tmp, _lib.Web(feeds=feeds, items=items, hosts=feeds, latency_s=a.latency) as web:
        feeds_toml = tmp / "feeds.toml"
        web.write_feeds_toml(feeds_toml)
        prefect, api_url = start_prefect(tmp)
        try:
            rates, bounds = {}, {}
            for n in counts:
                web.reset()
                r = run_workers(n, tmp, feeds_toml, api_url, overrides)
                st = web.stats()
                span = r["t_exit"] - (st["first_ts"] or r["t_launch"])
                rate = r["articles"] / span
                rates[n] = rate
                shares = [s["articles_new"] for s in r["summaries"]]
                bounds[n] = r["articles"] / max(max(shares), 1)  # best speed-up this split allows
                result(f"scaleout.workers_{n}_articles_per_s", rate, "articles/s",
                       note=f"{r['articles']} articles in {span:.1f} s after the first request "
                            f"({r['t_exit'] - r['t_launch']:.1f} s launch to exit); per worker {shares}")
            base = rates.get(1)
            if base:
                for n in counts:
                    if n != 1:
                        result(f"scaleout.speedup_{n}_vs_1", rates[n] / base, "x",
                               note=f"bound by the shard sizes: {bounds[n]:.2f} (all articles / largest shard); "
                                    f"ideal {n}.0; {n} workers on a 2-core box")
        finally:
            prefect.terminate()
            try:
                prefect.wait(timeout=20)
            except subprocess.TimeoutExpired:
                prefect.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Scheduled runs under `defwatch serve`, as the README tells people to run defwatch (issue 23).

    python benchmarks/serve_runs.py            # 5 measured runs per scenario, every 30 s
    python benchmarks/serve_runs.py --quick    # 2 measured runs, fewer feeds, every 15 s (CI)
    python benchmarks/serve_runs.py --runs 9 --every 40

A real `defwatch serve --every …` (the CLI, in a subprocess) starts its own Prefect server; the
benchmark reads each scheduled flow run from that server's REST API (the URL serve prints) and
never imports Prefect itself, so it measures the same whether serve starts each run as a process
or runs it in-process. Two scenarios, each on its own loopback web (benchmarks/_server.py), its
own database and its own serve:

* incremental: 25 feeds, one site each; before each scheduled run the web publishes 20 new
  articles, one on each of 20 feeds, so a run polls 25 feeds, gets 20 changed feeds and 5 304s,
  and fetches, cleans and stores exactly those 20 articles;
* not modified: 500 feeds on 50 sites that all answer 304 after the first run.

The first scheduled run (the backfill of what the web already holds) is not measured. Feeds
carry no max-age or <ttl> here and DEFWATCH_SCHEDULE__POLL_INTERVAL_S=10 (the least allowed), so
every feed is due at every run. For each measured run, from the API: the wall time from the
scheduled start (expected_start_time) to the end (end_time), split into the start's lateness
(start_time - expected_start_time) and the run's own duration (end_time - start_time); each run
must end Completed. From /proc: the CPU seconds (utime + stime) of the Prefect server processes
(serve's descendants whose command line is the server's) from just before the scheduled start to
the moment the benchmark sees the run final (it polls the API once a second meanwhile), and
between runs (the server's background services and the runner's polling: idle CPU per minute).

The incremental scenario also times one-off runs, launch to exit (the issue's third goal: at most
4 s where a Prefect server is already running): after each measured scheduled run, 20 more new
articles and one `defwatch ingest --force` beside the running serve (it finds serve's server for
the database and reports to it); after serve has stopped, the same runs on Prefect's embedded
server (what a one-off run costs on the embedded default). Each beside its floor over the same
web state.

The floor, measured in the same run and after each served run over the same web state:
benchmarks/_floor_incremental.py, a plain script doing the same library work (conditional GETs at
16 in flight / 4 per host, feedparser on the changed feeds, fetching the unseen articles,
trafilatura + the extractor, one DuckDB insert), timed from process launch to exit. It keeps its
own ETags and known URLs between its runs, so it fetches the same new articles as the served run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import signal
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx

import _lib
from _lib import median, result, section

FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _ts(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() if iso else None


def _cpu_with_children(pid: int) -> float:
    """utime + stime + the CPU of its children that have exited and been waited for."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15]) / _lib._TICKS
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return 0.0


def cpu_split(serve_pid: int) -> tuple[float, float]:
    """CPU seconds so far of (the Prefect server, everything else serve runs). The server: serve's
    descendants whose command line is the server's (`prefect server start`, uvicorn) and their
    own descendants. Everything else: serve itself (the runner) and the flow runs, whether they
    run in serve's process, in a live child, or in a child that has exited (serve's cutime)."""
    tree = _lib.tree(serve_pid)
    server: set[int] = set()
    for p in tree:
        if p != serve_pid and p not in server and _lib.RssSampler.role(p, serve_pid) == "prefect-server":
            server.update(_lib.tree(p))
    rest = [p for p in tree if p not in server]
    return (sum(_lib._cpu_s(p) for p in server),
            sum(_cpu_with_children(p) if p == serve_pid else _lib._cpu_s(p) for p in rest))


class CpuTimeline(threading.Thread):
    """Samples cpu_split(serve) every ``every_s``, so that CPU can be attributed to time windows
    known only afterwards (a run is picked up before its scheduled start: see its PENDING time)."""

    def __init__(self, serve_pid: int, every_s: float = 0.25):
        super().__init__(daemon=True)
        self.serve_pid, self.every_s = serve_pid, every_s
        self.samples: list[tuple[float, float, float]] = []
        self._stop_evt = threading.Event()

    def run(self):
        while not self._stop_evt.is_set():
            self.samples.append((time.time(), *cpu_split(self.serve_pid)))
            self._stop_evt.wait(self.every_s)

    def stop(self):
        self._stop_evt.set()
        self.join(timeout=2)

    def between(self, t0: float, t1: float) -> tuple[float, float]:
        """(server, rest) CPU seconds from the last sample at or before t0 to the first at or after t1."""
        a = next((s for s in reversed(self.samples) if s[0] <= t0), self.samples[0])
        b = next((s for s in self.samples if s[0] >= t1), self.samples[-1])
        return b[1] - a[1], b[2] - a[2]


class Serve:
    """`defwatch serve` in its own process group; stopped with SIGTERM to the group."""

    def __init__(self, tmp: Path, feeds_toml: Path, db: Path, every_s: int):
        self.log = tmp / "serve.log"
        env = _lib.bench_env(tmp, DEFWATCH_SCHEDULE__POLL_INTERVAL_S="10")
        argv = _lib.cli_cmd() + ["serve", "--db", str(db), "--feeds", str(feeds_toml), "--every", f"{every_s}s",
                                 "--port", "0"]  # 0: a free port, not the 4200 another serve may hold
        self.t_launch = time.time()
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(argv, cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.api = self._wait_for_api(timeout_s=180)
        self.t_ready = time.time()
        self.http = httpx.Client(base_url=self.api, timeout=30, trust_env=False)

    def _wait_for_api(self, timeout_s: float) -> str:
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            m = re.search(r"API at (http://\S+/api)", self.log.read_text(errors="replace"))
            if m:
                return m.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.5)
        raise RuntimeError(f"defwatch serve printed no 'API at …' within {timeout_s:.0f} s "
                           f"(exit code {self.proc.poll()}):\n{self.log.read_text(errors='replace')[-3000:]}")

    def flow_runs(self) -> list[dict]:
        r = self.http.post("/flow_runs/filter", json={"flows": {"name": {"any_": ["ingest"]}},
                                                      "sort": "EXPECTED_START_TIME_ASC", "limit": 200})
        r.raise_for_status()
        return r.json()

    def next_run_after(self, t: float, timeout_s: float) -> dict:
        """The first flow run scheduled to start after ``t`` (the scheduler creates them ahead)."""
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            later = [fr for fr in self.flow_runs() if _ts(fr["expected_start_time"]) > t]
            if later:
                return later[0]
            time.sleep(1)
        raise RuntimeError(f"no flow run scheduled after {datetime.fromtimestamp(t)} within {timeout_s:.0f} s; "
                           f"serve log:\n{self.log.read_text(errors='replace')[-3000:]}")

    def settle(self, ahead_s: float = 3.0, timeout_s: float = 300) -> None:
        """Wait until no flow run is pending or running and none is due within ``ahead_s`` (a late
        one-off or floor can leave the next scheduled run about to start: it would take the
        articles meant for the run measured after it)."""
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            soon = time.time() + ahead_s
            busy = [fr for fr in self.flow_runs() if fr["state_type"] in ("PENDING", "RUNNING")
                    or (fr["state_type"] == "SCHEDULED" and _ts(fr["expected_start_time"]) < soon)]
            if not busy:
                return
            time.sleep(0.5)
        raise RuntimeError(f"flow runs still pending or due after {timeout_s:.0f} s; serve log:\n"
                           f"{self.log.read_text(errors='replace')[-3000:]}")

    def wait_final(self, run_id: str, timeout_s: float) -> dict:
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            r = self.http.get(f"/flow_runs/{run_id}")
            r.raise_for_status()
            fr = r.json()
            if fr["state_type"] in FINAL:
                return fr
            time.sleep(1)
        raise RuntimeError(f"flow run {run_id} did not reach a final state within {timeout_s:.0f} s "
                           f"(last state {fr['state_type']}); serve log:\n{self.log.read_text(errors='replace')[-3000:]}")

    def states(self, run_id: str) -> dict[str, float]:
        """When the run entered each state (first time), e.g. {"PENDING": …, "RUNNING": …}."""
        r = self.http.get("/flow_run_states/", params={"flow_run_id": run_id})
        r.raise_for_status()
        out: dict[str, float] = {}
        for s in sorted(r.json(), key=lambda s: s["timestamp"]):
            out.setdefault(s["type"], _ts(s["timestamp"]))
        return out

    def stop(self) -> None:
        self.http.close()
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def run_floor(web: _lib.Web, tmp: Path, prime: bool = False) -> dict:
    cfg = {"feeds": web.feeds, "state": str(tmp / "floor-state.json"), "db": str(tmp / "floor.duckdb"),
           "concurrency": 16, "per_host": 4, "prime": prime}
    web.reset()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    out = subprocess.run([_lib.PY, str(_lib.BENCH / "_floor_incremental.py"), json.dumps(cfg)], capture_output=True,
                         text=True, env=_lib.bench_env(tmp))
    t1 = time.time()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise RuntimeError(f"_floor_incremental.py exited {out.returncode}:\n{out.stderr[-3000:]}")
    info = json.loads(out.stdout.strip().splitlines()[-1])
    info.update(wall=t1 - t0, t_launch=t0, t_exit=t1, server=web.stats(),
                cpu=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime))
    return info


def one_off(web: _lib.Web, tmp: Path, feeds_toml: Path, db: Path, new: int) -> dict:
    """Publish ``new`` articles, then one `defwatch ingest --force` (every feed polled, as the floor
    polls them), launch -> exit, and the floor over the same web state right after it."""
    published = web.publish(new)["published"]
    web.reset()
    env = _lib.bench_env(tmp, DEFWATCH_SCHEDULE__POLL_INTERVAL_S="10")
    t0 = time.time()
    out = subprocess.run(_lib.cli_cmd() + ["ingest", "--db", str(db), "--feeds", str(feeds_toml), "--force", "--json"],
                         cwd=tmp, env=env, capture_output=True, text=True)
    wall = time.time() - t0
    if out.returncode != 0:
        raise RuntimeError(f"defwatch ingest exited {out.returncode}:\n{out.stderr[-3000:]}")
    pages = web.stats()["by_kind"].get("page", 0)
    if pages != len(published):
        raise RuntimeError(f"the one-off ingest fetched {pages} pages, {len(published)} were published")
    floor = run_floor(web, tmp)
    return {"wall": wall, "floor": floor["wall"], "beside_serve": "using the Prefect server of `defwatch serve`"
            in out.stderr, "articles": json.loads(out.stdout).get("articles_new")}


def scenario(name: str, web: _lib.Web, tmp: Path, new_per_run: int, runs: int, every_s: int) -> dict:
    feeds_toml, db = tmp / "feeds.toml", tmp / f"{name}.duckdb"
    web.write_feeds_toml(feeds_toml)
    serve = Serve(tmp, feeds_toml, db, every_s)
    cpu = CpuTimeline(serve.proc.pid)
    cpu.start()
    rows, floors, windows, overlaps = [], [], [], 0
    beside: list[dict] = []
    try:
        print(f"serve ready after {serve.t_ready - serve.t_launch:.1f} s, API at {serve.api}", flush=True)
        # The backfill: the first scheduled run reads everything already there. Not measured.
        web.reset()
        first = serve.next_run_after(0, timeout_s=120)
        fr = serve.wait_final(first["id"], timeout_s=600)
        if fr["state_type"] != "COMPLETED":
            raise RuntimeError(f"the backfill run ended {fr['state_type']}: {fr['state']}")
        print(f"backfill run: scheduled {_ts(fr['expected_start_time']) - serve.t_launch:.1f} s after serve's launch, "
              f"{fr['state_type']}, {_ts(fr['end_time']) - _ts(fr['start_time']):.1f} s, {web.stats()['by_kind']}",
              flush=True)
        run_floor(web, tmp, prime=True)
        for k in range(runs):
            serve.settle()  # no run about to start or running: the articles published now are the next run's
            published = web.publish(new_per_run)["published"] if new_per_run else []
            web.reset()
            nxt = serve.next_run_after(time.time() + 1, timeout_s=every_s + 60)
            fr = serve.wait_final(nxt["id"], timeout_s=every_s + 600)
            if fr["state_type"] != "COMPLETED":
                raise RuntimeError(f"scheduled run {k + 1} ended {fr['state_type']}: {fr['state']}")
            st = web.stats()
            if st["by_kind"].get("page", 0) != len(published):
                raise RuntimeError(f"scheduled run {k + 1} fetched {st['by_kind'].get('page', 0)} pages, "
                                   f"{len(published)} were published")
            # The floor now, before the next run is picked up; the run's CPU is read afterwards from
            # the timeline (the floor's processes are not serve's).
            f = run_floor(web, tmp)
            states = serve.states(fr["id"])
            expected, start, end = _ts(fr["expected_start_time"]), _ts(fr["start_time"]), _ts(fr["end_time"])
            picked = min(states.get("PENDING", start), start)
            # The run's CPU window: from just before the runner picked it up (Prefect's runner takes
            # runs up to 10 s ahead) to a little after its end (the server's last state writes and
            # the events they raise).
            window = (min(picked, expected) - 0.5, end + 2.0)
            time.sleep(max(0.0, window[1] + 2 * cpu.every_s - time.time()))
            server_cpu, run_cpu = cpu.between(*window)
            windows.append((expected, window))
            row = {"wall": end - expected, "late": start - expected, "own": end - start,
                   "picked_up": picked - expected, "pending_s": start - picked,
                   "to_first_request": (st["first_ts"] or end) - start, "server_cpu": server_cpu, "run_cpu": run_cpu,
                   "window_s": window[1] - window[0], "requests": st["by_kind"], "statuses": st["by_status"]}
            rows.append(row)
            print(f"{name} run {k + 1}: " + json.dumps({key: round(v, 2) if isinstance(v, float) else v
                                                       for key, v in row.items()}), flush=True)
            if f["pages"] != len(published):
                raise RuntimeError(f"floor run {k + 1} fetched {f['pages']} pages, {len(published)} were published")
            # A served run picked up (its process starting) or running while the floor ran shares the CPU with it.
            busy = [fr for fr in serve.flow_runs() if fr["state_type"] in ("PENDING", "RUNNING")
                    and _ts(fr["state"]["timestamp"]) < f["t_exit"]]
            overlaps += bool(busy)
            floors.append(f)
            print(f"{name} floor {k + 1}: {f['wall']:.2f} s, CPU {f['cpu']:.2f} s, {f['feed_statuses']}, "
                  f"{f['articles']} articles" + (", overlapped by a served run's start" if busy else ""), flush=True)
            # A one-off `defwatch ingest` beside the running serve (it reports to serve's server), if
            # it can finish before the next scheduled run takes the database's run lock.
            upcoming = [_ts(fr["expected_start_time"]) for fr in serve.flow_runs() if fr["state_type"] == "SCHEDULED"]
            if new_per_run and min(upcoming, default=float("inf")) > time.time() + 8:
                beside.append(one_off(web, tmp, feeds_toml, db, new_per_run))
                print(f"{name} one-off ingest beside serve {k + 1}: {json.dumps(beside[-1], default=str)}", flush=True)
        # Idle: the gaps between consecutive measured runs' windows in which no other run was scheduled.
        scheduled = [_ts(fr["expected_start_time"]) for fr in serve.flow_runs()]
        idle_cpu = idle_s = 0.0
        unmeasured = 0
        for (e0, (_, end0)), (e1, (start1, _)) in zip(windows, windows[1:]):
            between = sum(1 for e in scheduled if e0 < e < e1)
            unmeasured += between
            if not between and start1 > end0:
                idle_cpu += cpu.between(end0, start1)[0]
                idle_s += start1 - end0
        if unmeasured:
            print(f"note: {unmeasured} scheduled run(s) came between measured ones (a late run or the floor took "
                  f"their slot) and were not measured", flush=True)
    finally:
        cpu.stop()
        serve.stop()
    if overlaps:
        print(f"note: {overlaps} floor run(s) overlapped the pick-up or run of a served run: use a longer --every",
              flush=True)
    # Serve stopped: the same one-off runs now start Prefect's embedded server themselves.
    embedded = [one_off(web, tmp, feeds_toml, db, new_per_run) for _ in range(runs if new_per_run else 0)]
    for k, row in enumerate(embedded):
        print(f"{name} one-off ingest, embedded Prefect {k + 1}: {json.dumps(row, default=str)}", flush=True)
    return {"rows": rows, "floors": floors, "idle_cpu_s": idle_cpu, "idle_s": idle_s, "beside": beside,
            "embedded": embedded}


def report(name: str, res: dict, what: str, idle_per_s: float) -> None:
    rows, floors = res["rows"], res["floors"]
    wall, floor = median([r["wall"] for r in rows]), median([f["wall"] for f in floors])
    result(f"serve.{name}.run_wall_s", wall, "s", floor=floor, ratio=wall / floor, goal="<=1.5x floor",
           met=wall <= 1.5 * floor, note=f"scheduled start -> end, {what}; floor: plain script launch -> exit")
    result(f"serve.{name}.start_late_s", median([r["late"] for r in rows]), "s",
           note=f"scheduled start -> Running (negative: early); picked up (Pending) at "
                f"{median([r['picked_up'] for r in rows]):+.2f} s from the scheduled start")
    result(f"serve.{name}.own_s", median([r["own"] for r in rows]), "s",
           note=f"Running -> end; of which Running -> first request {median([r['to_first_request'] for r in rows]):.2f} s")
    net = median([r["server_cpu"] - idle_per_s * r["window_s"] for r in rows])
    result(f"serve.{name}.server_cpu_s_per_run", median([r["server_cpu"] for r in rows]), "s",
           note=f"Prefect server processes, utime+stime, from the run's pick-up to 2 s after its end "
                f"({median([r['window_s'] for r in rows]):.1f} s); {net:.2f} s above its idle rate")
    for key, label, goal in (("beside", "one-off `defwatch ingest` while serve runs (reuses its Prefect server)",
                              "<=4 s"), ("embedded", "one-off `defwatch ingest` on its embedded Prefect server", None)):
        got = res.get(key) or []
        if not got:
            continue
        if key == "beside" and not all(r["beside_serve"] for r in got):
            raise RuntimeError("a one-off ingest beside serve did not say it used serve's Prefect server")
        wall, floor = median([r["wall"] for r in got]), median([r["floor"] for r in got])
        result(f"serve.{name}.one_off_{key}_s", wall, "s", floor=floor, ratio=wall / floor,
               **({"goal": goal, "met": wall <= 4.0} if goal else {}),
               note=f"{label}, launch -> exit, {len(got)} runs; floor: plain script launch -> exit")
    run_cpu, floor_cpu = median([r["run_cpu"] for r in rows]), median([f["cpu"] for f in floors])
    result(f"serve.{name}.run_cpu_s", run_cpu, "s", floor=floor_cpu, ratio=run_cpu / floor_cpu,
           note="serve's own processes (runner and flow run, the server excluded) in the same window")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 measured runs, 10 feeds / 5 new, 50 feeds for 304 (CI)")
    ap.add_argument("--runs", type=int, default=5, help="measured scheduled runs per scenario (medians reported)")
    ap.add_argument("--every", type=int, default=30, help="seconds between scheduled runs (`serve --every`)")
    ap.add_argument("--feeds", type=int, default=25, help="feeds of the incremental scenario")
    ap.add_argument("--new", type=int, default=20, help="new articles before each incremental run")
    ap.add_argument("--nm-feeds", type=int, default=500, help="feeds of the not-modified scenario")
    ap.add_argument("--latency", type=float, default=0.05, help="seconds added to every request")
    a = ap.parse_args()
    if a.quick:
        a.runs, a.every, a.feeds, a.new, a.nm_feeds = 2, 15, 10, 5, 50
    _lib.print_machine()
    section(f"incremental: {a.feeds} feeds, {a.new} new articles before each of {a.runs} runs every {a.every} s, "
            f"{a.latency * 1000:.0f} ms per request")
    with _lib.workdir("serve-inc") as tmp, _lib.Web(feeds=a.feeds, items=4, hosts=a.feeds, latency_s=a.latency,
                                                    cache_hints=False) as web:
        inc = scenario("incremental", web, tmp, a.new, a.runs, a.every)
    section(f"not modified: {a.nm_feeds} feeds on {min(50, a.nm_feeds)} sites answering 304, {a.runs} runs "
            f"every {a.every} s")
    with _lib.workdir("serve-304") as tmp, _lib.Web(feeds=a.nm_feeds, items=1, hosts=min(50, a.nm_feeds),
                                                    latency_s=a.latency, small_pages=True, cache_hints=False) as web:
        nm = scenario("not_modified", web, tmp, 0, a.runs, a.every)
    section("results (medians)")
    idle_cpu, idle_s = inc["idle_cpu_s"] + nm["idle_cpu_s"], inc["idle_s"] + nm["idle_s"]
    report("incremental", inc, f"{a.feeds} feeds, {a.new} new articles", idle_cpu / idle_s)
    report("not_modified", nm, f"{a.nm_feeds} feeds, all 304", idle_cpu / idle_s)
    result("serve.server_idle_cpu_s_per_min", 60 * idle_cpu / idle_s, "s/min",
           note=f"Prefect server between scheduled runs ({idle_s:.0f} s observed): background services, runner polls")


if __name__ == "__main__":
    main()

"""Nothing new: a second `defwatch ingest` over 500 feeds that all answer 304 Not Modified.

    python benchmarks/not_modified.py            # 500 feeds on 50 sites, 50 ms per request
    python benchmarks/not_modified.py --quick    # 50 feeds (CI)

The first run stores each feed's one (small) article and its ETag; the second run (--force, so
every feed is polled) must send If-None-Match, get 304s and fetch nothing else. Figures: the
second run's time after start-up (first request to exit) and its request count (counted by the
server). Floor: the same conditional GETs with plain httpx at the same concurrency (16, 4 per
host), timed from the first request to the last answer.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import defaultdict
from urllib.parse import urlsplit

import _lib
from _lib import median, result, section


async def _conditional_gets(urls: list[str], etags: dict[str, str] | None, concurrency=16, per_host=4):
    import httpx

    sem = asyncio.Semaphore(concurrency)
    hosts = defaultdict(lambda: asyncio.Semaphore(per_host))
    out = {}
    async with httpx.AsyncClient(timeout=20, trust_env=False,
                                 limits=httpx.Limits(max_connections=concurrency)) as client:
        async def one(u):
            async with hosts[urlsplit(u).hostname], sem:
                h = {"If-None-Match": etags[u]} if etags else {}
                r = await client.get(u, headers=h)
                out[u] = (r.status_code, r.headers.get("etag"))

        await asyncio.gather(*(one(u) for u in urls))
    return out


def floor(web: _lib.Web, repeat: int) -> list[float]:
    first = asyncio.run(_conditional_gets(web.feeds, None))
    etags = {u: e for u, (_, e) in first.items()}
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        res = asyncio.run(_conditional_gets(web.feeds, etags))
        times.append(time.perf_counter() - t)
        assert all(s == 304 for s, _ in res.values()), "floor: expected 304s"
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--feeds", type=int, default=500)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--repeat", type=int, default=2, help="304-only runs (medians reported)")
    a = ap.parse_args()
    if a.quick:
        a.feeds, a.repeat = 50, 1
    _lib.print_machine()
    section(f"304-only run: {a.feeds} feeds on {min(50, a.feeds)} sites, {a.latency * 1000:.0f} ms per request")
    runs = []
    with _lib.workdir("304") as tmp, _lib.Web(feeds=a.feeds, items=1, hosts=min(50, a.feeds), latency_s=a.latency,
                                              small_pages=True) as web:
        feeds_toml = tmp / "feeds.toml"
        web.write_feeds_toml(feeds_toml)
        db = tmp / "nm.duckdb"
        run, summary, st = _lib.ingest(tmp, web, feeds_toml, db)
        print(f"first run: {summary.get('articles_new')} articles, {st['total']} requests, {run.wall_s:.1f} s", flush=True)
        for rep in range(a.repeat):
            run, summary, st = _lib.ingest(tmp, web, feeds_toml, db)
            runs.append({"startup": st["first_ts"] - run.t_launch, "after_startup": run.t_end - st["first_ts"],
                         "window": st["last_ts"] - st["first_ts"], "requests": st["total"],
                         "by_status": st["by_status"], "not_modified": summary.get("feeds_not_modified"),
                         "new": summary.get("articles_new")})
            print(f"304 run {rep + 1}: {runs[-1]}", flush=True)
        f = floor(web, max(3, a.repeat))
    section("results (medians)")
    after = median([r["after_startup"] for r in runs])
    result("not_modified.after_startup_s", after, "s", floor=median(f), ratio=median(f) / after,
           goal="<3 s", met=after < 3, note="first request to process exit")
    result("not_modified.request_window_s", median([r["window"] for r in runs]), "s", floor=median(f),
           note="first to last request")
    result("not_modified.requests", median([r["requests"] for r in runs]), "requests", floor=a.feeds,
           note=f"all {median([r['not_modified'] for r in runs]):.0f} feeds answered 304")
    result("not_modified.startup_s", median([r["startup"] for r in runs]), "s")


if __name__ == "__main__":
    main()

"""Memory: peak RSS of `defwatch ingest` (the CLI process and all its children) at two corpus sizes.

    python benchmarks/memory.py            # 2,000 and 10,000 articles
    python benchmarks/memory.py --quick    # 100 and 400 articles (CI)

The process tree (CLI, Prefect's ephemeral server, the cleaning workers) is sampled every 100 ms
from /proc. Memory must not grow with the corpus: batches are streamed. Runs use
DEFWATCH_ALERTS__MARK_BACKFILL_SEEN=true (alerts of a first run are recorded, not sent), which
keeps the 10,000-article run within the time budget; e2e_ingest.py measures the default.
"""

from __future__ import annotations

import argparse

import _lib
from _lib import result, section


def one(n: int, latency: float, items: int) -> dict:
    feeds = max(1, n // items)
    with _lib.workdir("mem") as tmp, _lib.Web(feeds=feeds, items=items, hosts=min(50, feeds), latency_s=latency) as web:
        feeds_toml = tmp / "feeds.toml"
        web.write_feeds_toml(feeds_toml)
        run, summary, st = _lib.ingest(tmp, web, feeds_toml, tmp / "mem.duckdb", sample_rss=True,
                                       env_extra={"DEFWATCH_ALERTS__MARK_BACKFILL_SEEN": "true"})
    s = run.sampler
    out = {"articles": summary.get("articles_new", 0), "wall": run.wall_s, "peak_tree_mb": s.peak_total_kb / 1024,
           "peak_cli_mb": s.peak_main_kb / 1024, **{f"peak_{k}_mb": v / 1024 for k, v in s.peak_by_role.items()}}
    print(f"{n} articles: " + ", ".join(f"{k}={v:.0f}" if isinstance(v, float) else f"{k}={v}" for k, v in out.items()),
          flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sizes", default="2000,10000")
    ap.add_argument("--latency", type=float, default=0.0,
                    help="seconds per request (0: memory does not depend on it, and the 10,000 run stays short)")
    ap.add_argument("--items", type=int, default=40, help="articles per feed")
    a = ap.parse_args()
    if a.quick:
        a.sizes, a.items = "100,400", 20
    sizes = [int(x) for x in a.sizes.split(",")]
    _lib.print_machine()
    section(f"peak RSS of the ingest process tree at {', '.join(map(str, sizes))} articles")
    runs = [one(n, a.latency, a.items) for n in sizes]
    section("results")
    for n, r in zip(sizes, runs):
        result(f"memory.peak_rss_tree_{n}_mb", r["peak_tree_mb"], "MB", goal="<1024 MB", met=r["peak_tree_mb"] < 1024,
               note=f"{r['articles']} articles; CLI process alone {r['peak_cli_mb']:.0f} MB")
    small, big = runs[0], runs[-1]
    growth = big["peak_tree_mb"] / small["peak_tree_mb"]
    result("memory.growth_ratio", growth, "x", goal="flat (<=1.15x)", met=growth <= 1.15,
           note=f"{sizes[-1]} vs {sizes[0]} articles; CLI process alone "
                f"{big['peak_cli_mb'] / small['peak_cli_mb']:.2f}x")


if __name__ == "__main__":
    main()

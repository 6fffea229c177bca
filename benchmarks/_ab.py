"""A/B of `defwatch ingest` variants, each run paired with a floor run right after it.

    python benchmarks/_ab.py --repeat 3 --variant "" --variant "DEFWATCH_BATCH_SIZE=100"
    python benchmarks/_ab.py --repeat 3 --variant "PYTHONPATH=/tmp/old" --variant ""   # vs another checkout
    python benchmarks/_ab.py --quick                                                    # CI size

A development tool, not a figure of RESULTS.md's table (hence the leading underscore: `./dev bench`
skips it). On a VM whose speed wanders by 10-30 % within minutes, comparing a variant with a floor
run made seconds later, and alternating the variants, is what makes a 5 % difference visible at
all. A variant is a comma-separated list of environment assignments for the ingest process (""
is this checkout as it is; `PYTHONPATH=<dir>` runs another checkout, e.g. a `git worktree` of an
earlier commit, with this virtualenv).

Per pair it prints the time from process launch to exit of both (their ratio is what the variant
is judged by: what the user waits for), the steady time (first request to exit) of both, the time
from the last request to exit and the CPU seconds by process role after the first request; then
the median ratio of each variant.
"""

from __future__ import annotations

import argparse

import _lib
import e2e_ingest
from _lib import median, result, section


def parse_variant(text: str) -> dict[str, str]:
    env = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise SystemExit(f"--variant {text!r}: expected NAME=VALUE[,NAME=VALUE...] or \"\"")
        env[key] = value
    return env


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variant", action="append", default=None,
                    help='environment of one variant, "A=1,B=2"; repeat the option for each variant')
    ap.add_argument("--repeat", type=int, default=3, help="pairs per variant (medians are reported)")
    ap.add_argument("--feeds", type=int, default=50)
    ap.add_argument("--items", type=int, default=40)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--quick", action="store_true", help="10 feeds x 20 articles, one pair (CI)")
    a = ap.parse_args()
    if a.quick:
        a.feeds, a.items, a.repeat = 10, 20, 1
    variants = [parse_variant(v) for v in (a.variant or [""])]
    _lib.print_machine()
    section(f"A/B: {len(variants)} variant(s) x {a.repeat} pair(s), {a.feeds * a.items} articles")
    ratios: list[list[float]] = [[] for _ in variants]
    with _lib.workdir("ab") as tmp, _lib.Web(feeds=a.feeds, items=a.items, hosts=a.feeds,
                                             latency_s=a.latency) as web:
        feeds_toml = tmp / "feeds.toml"
        web.write_feeds_toml(feeds_toml)
        n = 0
        for _ in range(a.repeat):
            for i, env in enumerate(variants):
                n += 1
                run, summary, st = _lib.ingest(tmp, web, feeds_toml, tmp / f"ab-{n}.duckdb", env_extra=env,
                                               sample_rss=True)
                steady = run.t_end - st["first_ts"]
                floor = e2e_ingest.run_floor(web, tmp, workers=2, concurrency=16, per_host=4)
                floor_steady = floor["t_exit"] - floor["server"]["first_ts"]
                floor_wall = floor["t_exit"] - floor["t_launch"]
                ratios[i].append(floor_wall / run.wall_s)
                print(f"{env or 'as is'}: launch -> exit {run.wall_s:.2f} s (floor {floor_wall:.2f} s, ratio "
                      f"{ratios[i][-1]:.3f}); first request -> exit {steady:.2f} s (floor {floor_steady:.2f} s); "
                      f"last request -> exit {run.t_end - st['last_ts']:.2f} s; articles {summary.get('articles_new')}; "
                      f"CPU after the first request {run.sampler.cpu_since(st['first_ts'])}", flush=True)
    section("results (medians)")
    for i, env in enumerate(variants):
        label = ",".join(f"{k}={v}" for k, v in env.items()) or "as-is"
        result(f"ab.ratio[{label}]", median(ratios[i]), "x", note="floor / pipeline, launch to exit, per pair: "
               + ", ".join(f"{r:.3f}" for r in ratios[i]))


if __name__ == "__main__":
    main()

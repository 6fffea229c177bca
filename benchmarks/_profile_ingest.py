"""Profile one `defwatch ingest` run with py-spy (wall-clock samples, idle included) and print where
the CLI process spends its time, by pipeline stage and by function.

    pip install py-spy   # not a project dependency
    python benchmarks/_profile_ingest.py [--feeds 10 --items 40] [--out prof.raw]

A development tool (the leading underscore keeps it out of `./dev bench`: it needs py-spy).

Inclusive share of samples (of the main thread) for the frames that matter: Prefect start-up,
each task, fetch waits, DuckDB connections/migrations, alert delivery.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import time
from pathlib import Path

import _lib

STAGES = [
    ("prefect import + ephemeral server start", ("_run_ingest (flows/cli/ingest.py",), ("ingest_flow (flows/ingest.py",)),
    ("poll-feeds task", ("poll_feeds_task",), ()),
    ("waiting for the page stream (fetch + clean)", ("PageStream.batches",), ()),
    ("store-articles task", ("store_batch_task",), ()),
    ("  of which apply_extractions", ("apply_extractions",), ()),
    ("  of which extractor (texts not extracted by a worker)", ("extract_rows",), ()),
    ("summit watch", ("watch_summits (flows",), ()),
    ("deliver-alerts task", ("deliver_due_alerts_task",), ()),
    ("  of which HeldWriter.connection", ("deliver_due_alerts_task", "HeldWriter.connection"), ()),
    ("  of which channel.send", ("deliver_due_alerts_task", ".send (flows/alerts/channels.py"), ()),
    ("all open_writer (open + migrate)", ("open_writer (warehouse/db.py",), ()),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--feeds", type=int, default=10)
    ap.add_argument("--items", type=int, default=40)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--out", default=None, help="keep the collapsed stacks here")
    a = ap.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        sys.exit("py-spy not found: pip install py-spy")
    with _lib.workdir("prof") as tmp, _lib.Web(feeds=a.feeds, items=a.items, hosts=a.feeds, latency_s=a.latency) as web:
        feeds_toml = tmp / "feeds.toml"
        web.write_feeds_toml(feeds_toml)
        raw = Path(a.out) if a.out else tmp / "prof.raw"
        argv = [spy, "record", "--idle", "-r", "50", "--format", "raw", "-o", str(raw), "--"] + _lib.cli_cmd() + [
            "ingest", "--db", str(tmp / "p.duckdb"), "--feeds", str(feeds_toml), "--force", "--json"]
        t = time.time()
        p = subprocess.run(argv, cwd=tmp, env=_lib.bench_env(tmp), capture_output=True, text=True)
        wall = time.time() - t
        if p.returncode != 0:
            sys.exit(p.stderr[-3000:])
        stacks = collections.Counter()
        for line in raw.read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            stacks[stack] += int(n)
    main_stacks = {s: n for s, n in stacks.items() if "MainThread" in s.split(";")[0] or "(defwatch" in s
                   or "<module> (defwatch" in s}
    total = sum(main_stacks.values()) or 1
    print(f"{a.feeds * a.items} articles, wall {wall:.1f} s, {total} main-thread samples at 50 Hz")
    for label, needles, excl in STAGES:
        n = sum(c for s, c in main_stacks.items() if all(x in s for x in needles) and not any(x in s for x in excl))
        print(f"  {label:<46} {n / total * 100:5.1f} %  ({n / 50:.1f} s)")
    self_time = collections.Counter()
    for s, n in main_stacks.items():
        self_time[s.split(";")[-1]] += n
    print("top leaf frames (main thread):")
    for frame, n in self_time.most_common(12):
        print(f"  {n / total * 100:5.1f} %  {frame[:130]}")


if __name__ == "__main__":
    main()

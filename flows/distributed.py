"""Scale-out: N workers ingest disjoint shards of the feed registry into one shared event log.

* ``ingest-shard`` (``ingest_shard``): the unit of work a Prefect worker runs. It keeps the feeds
  whose stable hash (``warehouse.backend.shard_of``: sha256 of the name, mod N) equals its shard
  ``i/N`` and runs the ordinary ``ingest`` flow on them as a subflow. With
  ``DEFWATCH_WAREHOUSE=ducklake`` every shard writes the same DuckLake; with the default DuckDB
  file the shards simply queue behind the file's run lock.
* ``ingest-fanout`` (``fanout_flow``): the coordinator. It starts one run of the ``ingest-shard``
  deployment per shard (``run_deployment``), so the work pool hands them to its workers, waits for
  all of them and fails if any failed.

Deployment: ``prefect.yaml`` at the repository root (``prefect deploy --all``), or
``python -m flows.distributed deploy``. How to run the whole thing: docs/SCALING.md.

Command line (each its own Prefect client; without PREFECT_API_URL an ephemeral server)::

    python -m flows.distributed shards --feeds feeds.toml --n 3       # who gets which feed
    python -m flows.distributed worker --shard 0/3 [--db …] [--feeds …] [--base-url …] [--force]
    python -m flows.distributed deploy [--pool defwatch]
    python -m flows.distributed fanout --shards 3 [--force]
"""

from __future__ import annotations

import flows.runtime.prefect_env  # noqa: F401  (must precede the prefect import)

import argparse
import json
import os
import re
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from warehouse import backend

REPO = Path(__file__).resolve().parents[1]
SHARD_DEPLOYMENT = "ingest-shard/defwatch-shard"
DEFAULT_POOL = "defwatch"


# -- shards --------------------------------------------------------------------------------------

def split_registry(text: str, shard: str) -> tuple[str, list[str]]:
    """The registry text restricted to one shard's [[feed]] tables (comments and the demo's
    {{BASE_URL}} token kept as they are), and the names kept."""
    i, n = backend.parse_shard(shard)
    lines = text.splitlines(keepends=True)
    starts = [k for k, line in enumerate(lines) if re.match(r"\s*\[\[\s*feed\s*\]\]", line)]
    head = "".join(lines[: starts[0]]) if starts else text
    kept, names = [head], []
    for a, b in zip(starts, [*starts[1:], len(lines)]):
        block = "".join(lines[a:b])
        name = tomllib.loads(block)["feed"][0].get("name", "")
        if backend.shard_of(name, n) == i:
            kept.append(block)
            names.append(name)
    return "".join(kept), names


def assignment(feeds_file: Path, n: int) -> dict[str, int]:
    """feed name -> shard, for every [[feed]] of the registry."""
    data = tomllib.loads(feeds_file.read_text(encoding="utf-8"))
    return {f["name"]: backend.shard_of(f["name"], n) for f in data.get("feed", [])}


def shard_db(db: str, shard: str) -> str:
    """The ``db`` a shard's ingest gets. On DuckLake that path only names the local run lock
    (``<db>.lock``), so each shard locks its own: two runs of one shard never overlap on a machine,
    different shards run side by side. On the DuckDB file it stays the file itself."""
    if backend.config() is None:
        return db
    i, n = backend.parse_shard(shard)
    return f"{db}.shard-{i}-of-{n}"


# -- flows ---------------------------------------------------------------------------------------

@flow(name="ingest-shard", log_prints=False, validate_parameters=False)
def ingest_shard(
    shard: str,
    db: str = "defwatch.duckdb",
    feeds_file: str = "feeds.toml",
    base_url: str | None = None,
    force: bool = False,
    settings_overrides: dict[str, Any] | None = None,
    lock_wait_s: float = 0.0,
) -> dict[str, Any]:
    """Ingest the feeds of one shard ``i/N`` (the ``ingest`` flow, as a subflow)."""
    from flows.ingest import ingest_flow

    log = get_run_logger()
    backend.parse_shard(shard)
    text = Path(feeds_file).read_text(encoding="utf-8")
    subset, names = split_registry(text, shard)
    log.info("shard %s: %d feeds (%s)", shard, len(names), ", ".join(names) or "none")
    with tempfile.TemporaryDirectory(prefix="defwatch-shard-") as tmp:
        path = Path(tmp) / "feeds.toml"
        path.write_text(subset, encoding="utf-8")
        # The shard setting tells the run that it sees only its share of the registry
        # (store.sync_feeds then disables only this shard's feeds that left the file).
        summary = ingest_flow(db=shard_db(db, shard), feeds_file=str(path), base_url=base_url, force=force,
                              settings_overrides={**(settings_overrides or {}), "shard": shard},
                              lock_wait_s=lock_wait_s)
    return dict(summary, shard=shard)


@flow(name="ingest-fanout", log_prints=False, validate_parameters=False)
def fanout_flow(
    shards: int = 3,
    deployment: str = SHARD_DEPLOYMENT,
    db: str = "defwatch.duckdb",
    feeds_file: str = "feeds.toml",
    base_url: str | None = None,
    force: bool = False,
    timeout_s: float = 3600.0,
    deliver: bool = True,
) -> list[dict[str, Any]]:
    """Start one ``ingest-shard`` deployment run per shard, wait for all, fail if one failed."""
    from prefect.deployments import run_deployment

    log = get_run_logger()
    if shards < 1:
        raise ValueError("shards must be at least 1")
    runs = []
    for i in range(shards):
        params = {"shard": f"{i}/{shards}", "db": db, "feeds_file": feeds_file, "base_url": base_url,
                  "force": force}
        run = run_deployment(name=deployment, parameters=params, timeout=0, as_subflow=True,
                             tags=[f"shard-{i}-of-{shards}"])
        log.info("shard %d/%d: flow run %s", i, shards, run.id)
        runs.append(run)
    finals = _wait_all([r.id for r in runs], timeout_s)
    out, failed = [], []
    for i, (run, final) in enumerate(zip(runs, finals)):
        state = final.state.name if final.state else "unknown"
        out.append({"shard": f"{i}/{shards}", "flow_run_id": str(run.id), "state": state})
        if not (final.state and final.state.is_completed()):
            failed.append(f"{i}/{shards} ({state})")
    if failed:
        raise RuntimeError(f"shards failed: {', '.join(failed)}; the others committed their work")
    log.info("all %d shards completed", shards)
    if deliver:
        report = deliver_after_fanout(db)
        log.info("alerts after the fan-out: %d delivered, %d failed", report.sent, report.failed)
    return out


def _wait_all(ids: list, timeout_s: float, poll_s: float = 2.0) -> list:
    """Wait until every flow run is in a final state (or the timeout passes: then as they are)."""
    import time

    from prefect import get_client

    deadline = time.monotonic() + timeout_s
    with get_client(sync_client=True) as client:
        while True:
            runs = [client.read_flow_run(i) for i in ids]
            if all(r.state is not None and r.state.is_final() for r in runs) or time.monotonic() >= deadline:
                return runs
            time.sleep(poll_s)


def deliver_after_fanout(db: str):
    """Deliver the shared outbox once, from the coordinator (with the ingest hook that keeps shard
    runs from delivering, this is the only place that sends)."""
    from datetime import datetime, timezone

    from flows.alerts import delivery, routing
    from flows.alerts.notify import notify_urls
    from flows.settings import load_settings

    settings = load_settings(db=db)
    chans = routing.Channels.build(settings.alerts, notify_urls())
    return delivery.deliver(Path(db), chans, settings.alerts, datetime.now(timezone.utc), get_run_logger())


def deploy(pool: str = DEFAULT_POOL, name: str = "defwatch-shard") -> None:
    """The same as ``prefect deploy --all`` with prefect.yaml: the shard worker and the
    coordinator, from this checkout, on a process work pool."""
    for fl, entry, dep in ((ingest_shard, "flows/distributed.py:ingest_shard", name),
                           (fanout_flow, "flows/distributed.py:fanout_flow", "defwatch-fanout")):
        fl.from_source(source=str(REPO), entrypoint=entry).deploy(
            name=dep, work_pool_name=pool, build=False, push=False)


# -- command line --------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m flows.distributed", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("shards", help="print which shard each feed belongs to")
    s.add_argument("--feeds", default="feeds.toml")
    s.add_argument("--n", type=int, required=True)
    w = sub.add_parser("worker", help="run one shard's ingest here and now")
    w.add_argument("--shard", required=True)
    w.add_argument("--db", default=os.environ.get("DEFWATCH_DB", "defwatch.duckdb"))
    w.add_argument("--feeds", default=os.environ.get("DEFWATCH_FEEDS_FILE", "feeds.toml"))
    w.add_argument("--base-url")
    w.add_argument("--force", action="store_true")
    w.add_argument("--overrides", help="settings overrides as JSON")
    w.add_argument("--wait", type=float, default=0.0)
    d = sub.add_parser("deploy", help="deploy ingest-shard and ingest-fanout to a process work pool")
    d.add_argument("--pool", default=DEFAULT_POOL)
    f = sub.add_parser("fanout", help="run the coordinator here: one deployment run per shard")
    f.add_argument("--shards", type=int, required=True)
    f.add_argument("--db", default=os.environ.get("DEFWATCH_DB", "defwatch.duckdb"))
    f.add_argument("--feeds", default="feeds.toml")
    f.add_argument("--base-url")
    f.add_argument("--force", action="store_true")
    f.add_argument("--deployment", default=SHARD_DEPLOYMENT)
    a = p.parse_args(argv)

    if a.cmd == "shards":
        for name, i in sorted(assignment(Path(a.feeds), a.n).items(), key=lambda x: (x[1], x[0])):
            print(f"{i}/{a.n}\t{name}")
        return 0
    if a.cmd == "worker":
        overrides = json.loads(a.overrides) if a.overrides else None
        with flows.runtime.prefect_env.quiet_heartbeats():
            summary = ingest_shard(shard=a.shard, db=a.db, feeds_file=a.feeds, base_url=a.base_url,
                                   force=a.force, settings_overrides=overrides, lock_wait_s=a.wait)
        print(json.dumps(summary, default=str))
        return 0 if summary.get("status") == "completed" else 1
    if a.cmd == "deploy":
        deploy(a.pool)
        return 0
    if a.cmd == "fanout":
        print(json.dumps(fanout_flow(shards=a.shards, deployment=a.deployment, db=a.db, feeds_file=a.feeds,
                                     base_url=a.base_url, force=a.force), indent=2))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())

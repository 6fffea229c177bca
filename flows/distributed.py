"""Scale-out: N workers ingest disjoint shards of the feed registry into one shared event log.

* ``ingest-shard`` (``ingest_shard``): the unit of work a Prefect worker runs. It keeps the feeds
  the coordinator planned for its shard ``i/N`` (``feeds``; without a plan, those whose stable
  hash, ``warehouse.backend.shard_of``, mod N is i) and runs the ordinary ``ingest`` flow on them
  as a subflow. With ``DEFWATCH_WAREHOUSE=ducklake`` every shard writes the same DuckLake; with the
  default DuckDB file the shards simply queue behind the file's run lock.
* ``ingest-fanout`` (``fanout_flow``): the coordinator. It closes ``runs`` rows whose flow runs
  ended, plans the shards (``flows.shardplan``: balanced by each feed's recent articles), starts
  one run of the ``ingest-shard`` deployment per shard (``run_deployment``: the pool's ``shards``
  queue hands them to its workers), waits for all of them, starts again a shard whose run Prefect
  marked Crashed (its worker died: ``prefect-automations.yaml``), and fails if any still failed.

Deployment: ``prefect.yaml`` at the repository root (``prefect deploy --all``), or
``python -m flows.distributed deploy`` (the same queues and concurrency limit). How to run the
whole thing: docs/SCALING.md.

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

def split_registry(text: str, shard: str, only: list[str] | None = None) -> tuple[str, list[str]]:
    """The registry text restricted to one shard's [[feed]] tables (comments and the demo's
    {{BASE_URL}} token kept as they are), and the names kept. ``only``: the names the
    coordinator's plan gave this shard (``flows.shardplan``); without it, the feeds whose stable
    hash mod N is i (what ``worker --shard`` uses when no coordinator plans)."""
    i, n = backend.parse_shard(shard)
    lines = text.splitlines(keepends=True)
    starts = [k for k, line in enumerate(lines) if re.match(r"\s*\[\[\s*feed\s*\]\]", line)]
    head = "".join(lines[: starts[0]]) if starts else text
    kept, names = [head], []
    for a, b in zip(starts, [*starts[1:], len(lines)]):
        block = "".join(lines[a:b])
        name = tomllib.loads(block)["feed"][0].get("name", "")
        if (name in only) if only is not None else (backend.shard_of(name, n) == i):
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
    feeds: list[str] | None = None,
) -> dict[str, Any]:
    """Ingest the feeds of one shard ``i/N`` (the ``ingest`` flow, as a subflow): the ``feeds``
    the coordinator planned for it, or else those whose stable hash mod N is i."""
    from flows.ingest import ingest_flow

    log = get_run_logger()
    backend.parse_shard(shard)
    text = Path(feeds_file).read_text(encoding="utf-8")
    subset, names = split_registry(text, shard, feeds)
    log.info("shard %s: %d feeds (%s)", shard, len(names), ", ".join(names) or "none")
    with tempfile.TemporaryDirectory(prefix="defwatch-shard-") as tmp:
        path = Path(tmp) / "feeds.toml"
        path.write_text(subset, encoding="utf-8")
        # The shard setting tells the run that it sees only its share of the registry
        # (store.sync_feeds then disables none: the coordinator disables feeds that left the file).
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
    retries: int = 2,
) -> list[dict[str, Any]]:
    """Plan the shards (balanced by expected work), start one ``ingest-shard`` deployment run per
    shard, wait for all; a shard run that crashed (its worker died: Prefect's zombie automation,
    ``prefect-automations.yaml``, marks it Crashed) is started again, up to ``retries`` times,
    and its ``runs`` rows are marked abandoned. Fails if a shard still did not complete."""
    from prefect.deployments import run_deployment

    log = get_run_logger()
    if shards < 1:
        raise ValueError("shards must be at least 1")
    stale = reconcile_runs(db)
    if stale:
        log.warning("marked %d runs abandoned: their Prefect flow runs ended without finishing them", stale)
    plan = plan_shards(db, feeds_file, shards)

    def submit(i: int, attempt: int):
        # A retry polls its feeds even if not due: the lost run committed their next poll time
        # when it polled them, before it stored their articles (it withheld only the validators).
        params = {"shard": f"{i}/{shards}", "db": db, "feeds_file": feeds_file, "base_url": base_url,
                  "force": force or attempt > 1, "feeds": plan[i]}
        run = run_deployment(name=deployment, parameters=params, timeout=0, as_subflow=True,
                             tags=[f"shard-{i}-of-{shards}"])
        log.info("shard %d/%d (%d feeds, attempt %d): flow run %s", i, shards, len(plan[i]), attempt, run.id)
        return run

    current = {i: submit(i, 1) for i in range(shards)}
    attempts = dict.fromkeys(current, 1)
    while True:
        finals = dict(zip(current, _wait_all([r.id for r in current.values()], timeout_s)))
        crashed = [i for i, f in finals.items() if f.state is not None and f.state.is_crashed()
                   and attempts[i] <= retries]
        if not crashed:
            break
        # A lost worker costs a retry: its runs rows are closed, the shard starts again elsewhere.
        abandoned = reconcile_runs(db)
        for i in crashed:
            log.warning("shard %d/%d crashed (%s); starting it again (%d runs marked abandoned)", i, shards,
                        finals[i].state.message or "worker lost", abandoned)
            attempts[i] += 1
            current[i] = submit(i, attempts[i])
    out, failed = [], []
    for i in range(shards):
        final = finals[i]
        state = final.state.name if final.state else "unknown"
        out.append({"shard": f"{i}/{shards}", "flow_run_id": str(final.id), "state": state,
                    "feeds": len(plan[i]), "attempts": attempts[i]})
        if not (final.state and final.state.is_completed()):
            failed.append(f"{i}/{shards} ({state})")
    if failed:
        raise RuntimeError(f"shards failed: {', '.join(failed)}; the others committed their work")
    log.info("all %d shards completed", shards)
    if deliver:
        report = deliver_after_fanout(db)
        log.info("alerts after the fan-out: %d delivered, %d failed", report.sent, report.failed)
    return out


def plan_shards(db: str, feeds_file: str, shards: int) -> list[list[str]]:
    """Feeds per shard, balanced by what each brought lately; feeds that left the registry are
    disabled here (a shard sees only its share and cannot tell)."""
    from datetime import datetime, timezone

    from flows import shardplan
    from warehouse import fanout
    from warehouse.db import transaction, write_connection

    names = [f["name"] for f in tomllib.loads(Path(feeds_file).read_text(encoding="utf-8")).get("feed", [])]
    now = datetime.now(timezone.utc)
    with write_connection(db) as con, transaction(con):
        weights = fanout.expected_work(con, now)
        fanout.disable_feeds_missing(con, names, now)
    return shardplan.plan(names, weights, shards)


def reconcile_runs(db: str) -> int:
    """Mark abandoned every ``running`` row whose Prefect flow run (or a parent of it: the ingest
    flow runs as a subflow of ``ingest-shard``) has ended: its process is gone. Rows of runs
    Prefect does not know (an ``ingest`` on an ephemeral server) are left alone."""
    from datetime import datetime, timezone

    from prefect import get_client

    from warehouse import fanout
    from warehouse.db import transaction, write_connection

    with write_connection(db) as con:
        rows = fanout.running_runs(con)
    if not rows:
        return 0
    dead = []
    with get_client(sync_client=True) as client:
        for run_id, flow_run_id in rows:
            if flow_run_id and _flow_run_ended(client, flow_run_id):
                dead.append(run_id)
    if dead:
        with write_connection(db) as con, transaction(con):
            fanout.mark_abandoned(con, dead, datetime.now(timezone.utc))
    return len(dead)


def _flow_run_ended(client, flow_run_id: str, depth: int = 3) -> bool:
    from prefect.exceptions import ObjectNotFound

    try:
        run = client.read_flow_run(flow_run_id)
    except (ObjectNotFound, ValueError):
        return False
    if run.state is not None and run.state.is_final():
        return True
    if depth and run.parent_task_run_id:
        task = client.read_task_run(run.parent_task_run_id)
        return bool(task.flow_run_id) and _flow_run_ended(client, str(task.flow_run_id), depth - 1)
    return False


def _wait_all(ids: list, timeout_s: float, poll_s: float = 1.0) -> list:
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
    for fl, entry, dep, queue in ((ingest_shard, "flows/distributed.py:ingest_shard", name, "shards"),
                                  (fanout_flow, "flows/distributed.py:fanout_flow", "defwatch-fanout", "coordinator")):
        # The fan-out keeps prefect.yaml's concurrency_limit: 1 (two fan-outs never overlap).
        limit = 1 if fl is fanout_flow else None
        fl.from_source(source=str(REPO), entrypoint=entry).deploy(
            name=dep, work_pool_name=pool, work_queue_name=queue, build=False, push=False,
            concurrency_limit=limit)


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

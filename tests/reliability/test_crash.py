"""Crash safety: kill -9 an ingest run at many points, run again, and the database holds exactly
what one clean run stores: the same articles, events, event mentions and alerts, and each alert
reached the webhook (no loss, no duplicate; the documented exception is a kill between a
channel accepting an alert and the alert being marked sent, which re-sends that one alert).

Every scenario runs ``defwatch ingest`` as a real child process against the demo corpus served
by a real loopback server, with 4 batches of 10 articles so that kills land between batches.
Scenarios are independent (own server, database, webhook path) and run three at a time; the
children share the session's Prefect test server instead of starting one each.
"""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from flows.runtime.faults import POINTS
from tests.reliability.support import (
    ALERT_CONFIG, Snapshot, SlowSampleServer, child_env, received_alert_ids, run_cli, snapshot, write_registry,
)

pytestmark = pytest.mark.flow


@dataclass(frozen=True)
class Kill:
    point: str | None = None      # a crash point of flows.runtime.faults: the process kills itself there
    after: int = 0                # ... after passing it this many times (DEFWATCH_KILL_AFTER)
    external: str | None = None   # or: the test sends SIGKILL while requests to /<this>/ are in flight
    workers: int = 1              # cleaning processes of that run (2: a pool is left behind by the kill)


SCENARIOS: dict[str, list[Kill]] = {
    "after-feed-state": [Kill("after-feed-state")],
    "after-page-fetch-batch2": [Kill("after-page-fetch", 1)],
    "after-clean-pool": [Kill("after-clean", workers=2)],
    "in-store-transaction-batch1": [Kill("in-store-transaction")],
    "in-store-transaction-batch3": [Kill("in-store-transaction", 2)],
    "after-store-batch1": [Kill("after-store")],
    "after-store-batch3": [Kill("after-store", 2)],
    "before-delivery": [Kill("before-delivery")],
    "after-send-4th": [Kill("after-send", 3)],
    "after-delivery": [Kill("after-delivery")],
    "external-sigkill-during-page-fetch": [Kill(external="articles", workers=2)],
    "external-sigkill-during-feed-fetch": [Kill(external="feeds")],
    "twice-after-clean-then-in-store-batch2": [Kill("after-clean"), Kill("in-store-transaction", 1)],
}
assert {k.point for ks in SCENARIOS.values() for k in ks if k.point} == set(POINTS), "every crash point is tried"
# Kills after the feed states are committed and before every article is stored.
MID_RUN = {"after-feed-state", "after-page-fetch-batch2", "after-clean-pool", "in-store-transaction-batch1",
           "in-store-transaction-batch3", "after-store-batch1", "after-store-batch3",
           "external-sigkill-during-page-fetch", "twice-after-clean-then-in-store-batch2"}


def _param(name: str):
    # MID_RUN kills lost articles until feed validators were committed only after the articles
    # (flows/ingest.py _commit_validators); they are plain tests now.
    return name
BATCH_SIZE = "10"   # the demo corpus has 35 articles: 4 batches


@dataclass
class Outcome:
    name: str
    kills: list = field(default_factory=list)   # Finished of each killed run
    final: object = None                         # Finished of the run to completion
    snap: Snapshot | None = None
    received: object = None                      # Counter of alert ids at the webhook
    received_before_rerun: int = 0
    base_url: str = ""
    error: str | None = None


def _scenario(name: str, kills: list[Kill], api_url: str, root: Path, receiver) -> Outcome:
    work = root / name
    work.mkdir(parents=True)
    out = Outcome(name)
    server = SlowSampleServer().start()
    out.base_url = server.base_url
    try:
        feeds = write_registry(work, server.base_url)
        config = work / "alerts.toml"
        config.write_text(ALERT_CONFIG)
        db = work / "k.duckdb"
        hook_path = f"/hook/{name}"
        args = ["ingest", "--db", str(db), "--feeds", str(feeds), "--force", "--json",
                "--notify", receiver.url(hook_path, scheme="json")]
        base = {"DEFWATCH_CONFIG": str(config), "DEFWATCH_BATCH_SIZE": BATCH_SIZE}
        for i, kill in enumerate(kills):
            env = child_env(api_url, {**base, "DEFWATCH_WORKERS": str(kill.workers)})
            watcher = None
            if kill.point:
                env.update(DEFWATCH_KILL_AT=kill.point, DEFWATCH_KILL_AFTER=str(kill.after))
            else:
                server.delays[kill.external] = 0.3 if kill.external == "articles" else 5.0
                threshold = 5 if kill.external == "articles" else 1

                def watcher(proc, prefix=f"/{kill.external}/", threshold=threshold):
                    deadline = time.monotonic() + 240
                    while proc.poll() is None and time.monotonic() < deadline:
                        if server.arrived(prefix) >= threshold:
                            os.kill(proc.pid, signal.SIGKILL)   # from outside, mid-request
                            return
                        time.sleep(0.02)
            out.kills.append(run_cli(args, env, work, while_running=watcher, tag=f"kill{i}"))
            server.delays.clear()
        out.received_before_rerun = sum(received_alert_ids(receiver, hook_path).values())
        out.final = run_cli(args, child_env(api_url, {**base, "DEFWATCH_WORKERS": "1"}), work, tag="final")
        out.snap = snapshot(db, server.base_url)
        out.received = received_alert_ids(receiver, hook_path)
    except Exception as exc:  # reported by the scenario's own test
        out.error = f"{type(exc).__name__}: {exc}"
    finally:
        server.stop()
    return out


@pytest.fixture(scope="module")
def outcomes(request, prefect_api_url, module_receiver, tmp_path_factory) -> dict[str, Outcome]:
    """Run the clean baseline and every selected scenario (three at a time)."""
    selected = {item.callspec.params["scenario"] for item in request.session.items
                if item.originalname == "test_kill_then_rerun_equals_one_clean_run" and hasattr(item, "callspec")}
    root = tmp_path_factory.mktemp("crash")
    jobs = {"baseline": []} | {n: SCENARIOS[n] for n in SCENARIOS if n in selected}
    with ThreadPoolExecutor(3) as pool:
        futures = {n: pool.submit(_scenario, n, kills, prefect_api_url, root, module_receiver)
                   for n, kills in jobs.items()}
        return {n: f.result() for n, f in futures.items()}


def _assert_completed(run, what: str) -> dict:
    assert run is not None and run.returncode == 0, f"{what}: exit {run and run.returncode}\n{run and run.stderr[-3000:]}"
    summary = run.json()
    assert summary["status"] == "completed", summary
    return summary


def test_clean_baseline_delivers_each_alert_once(outcomes):
    base = outcomes["baseline"]
    assert base.error is None, base.error
    _assert_completed(base.final, "baseline")
    snap = base.snap
    assert len(snap.articles) == 35 and len(snap.events) > 20 and len(snap.mentions) >= len(snap.events)
    assert len(snap.alerts) > 10 and set(snap.deliveries) == {"sent"}
    assert set(base.received) == {a[0] for a in snap.alerts}
    assert max(base.received.values()) == 1


@pytest.mark.parametrize("scenario", [_param(n) for n in SCENARIOS])
def test_kill_then_rerun_equals_one_clean_run(outcomes, scenario):
    base, out = outcomes["baseline"], outcomes[scenario]
    assert base.error is None and out.error is None, (base.error, out.error)
    for k, run in zip(SCENARIOS[scenario], out.kills):
        assert run.returncode == -signal.SIGKILL, (
            f"the run was meant to be killed at {k.point or 'an external SIGKILL'} but exited "
            f"{run.returncode}\n{run.stderr[-3000:]}")
    _assert_completed(out.final, f"{scenario}: run after the kill")

    # The same content as one clean run: nothing lost, nothing twice.
    want, got = base.snap.content(), out.snap.content()
    for table in want:
        missing = [r for r in want[table] if r not in got[table]]
        extra = [r for r in got[table] if r not in want[table]]
        assert not missing and not extra, f"{table}: {len(missing)} missing, {len(extra)} extra: {(missing + extra)[:3]}"
        assert len(set(got[table])) == len(got[table]), f"{table} has duplicate rows"

    # Every alert was delivered and is marked sent; only 'after-send' may have sent one twice.
    assert set(out.snap.deliveries) == {"sent"}, out.snap.deliveries
    assert set(out.received) == {a[0] for a in base.snap.alerts}, "every alert reached the webhook"
    repeats = sum(n - 1 for n in out.received.values())
    assert repeats == (1 if any(k.point == "after-send" for k in SCENARIOS[scenario]) else 0), out.received

    # The killed runs are recorded as abandoned, the last one as completed.
    statuses = [s for s, _ in out.snap.runs]
    assert statuses[-1] == "completed" and set(statuses[:-1]) <= {"abandoned"}, statuses

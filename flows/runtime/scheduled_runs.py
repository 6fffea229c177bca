"""A served deployment's scheduled flow runs, executed in this process, one after another.

Why not ``flow.serve()``: Prefect's Runner starts a new Python process for every scheduled run,
which imports Prefect, the flow, trafilatura and DuckDB again and starts a new cleaning pool
before the first request: ~4-6 s of a run that has 25 feeds to poll and 20 articles to store
(benchmarks/serve_runs.py). Here the process that serves has imported everything once, and each
run is one call of Prefect's flow engine (``run_flow``) with the flow run the server scheduled:
the same flow run, task runs, states and logs in Prefect's UI. The schedule is still Prefect's
(the server's scheduler creates the runs from the deployment); only the process that executes
them changes, and the runs start at their scheduled second instead of up to 10 s late (the
Runner's polling interval).

What this gives up, stated in the README: a run cannot be cancelled from Prefect's UI while it
runs (there is no process of its own to stop; stop ``defwatch serve``); a run this process was
executing when it was killed is marked Crashed when ``defwatch serve`` starts again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

POLL_S = 5.0  # how often the server is asked for due runs (a run made in the UI waits at most this)
CRASHED_ON_RESTART = ("defwatch serve stopped while this run was in progress (killed or crashed); "
                      "it was marked Crashed when serve started again")


def serve_in_process(flow: Any, *, name: str, parameters: dict[str, Any], interval_s: int | None = None,
                     cron: str | None = None, say: Callable[[str], None] = print, poll_s: float = POLL_S,
                     check: Callable[[], None] = lambda: None) -> None:
    """Register ``flow`` as the deployment ``name`` with its schedule (with an interval, a first run
    at once), then run its due flow runs in this process until interrupted (KeyboardInterrupt).
    When asking the server fails, ``check()`` may raise to stop (the server serve started is gone)."""
    from prefect.client.orchestration import get_client

    deployment = flow.to_deployment(name=name, interval=timedelta(seconds=interval_s) if interval_s else None,
                                    cron=cron, parameters=parameters)
    # Served by this process, not by a work pool (what Runner.add_flow does, for the same reason).
    deployment.work_pool_name = None
    deployment.work_queue_name = None
    deployment_id = deployment.apply()
    with get_client(sync_client=True) as client:
        crashed = _crash_runs_left_running(client, deployment_id)
        if crashed:
            say(f"{crashed} run(s) left running by an earlier `defwatch serve` marked Crashed")
        if interval_s:
            # An interval's first run now, not one interval (or a scheduler pass, up to a minute)
            # after start: Prefect's scheduler places runs on the interval's grid from its next pass on.
            client.create_flow_run_from_deployment(deployment_id)
        while True:
            try:
                run = _next_due_run(client, deployment_id, poll_s)
                if run is not None:
                    _execute(client, flow, run)
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as exc:  # e.g. the server restarting or briefly unreachable: serving goes on
                check()
                say(f"serving a scheduled run failed ({type(exc).__name__}: {str(exc)[:200]}); "
                    f"asking the server again in {poll_s:.0f} s")
                time.sleep(poll_s)


def _next_due_run(client, deployment_id, poll_s: float):
    """The earliest run due within two polls, once its scheduled time has come; None after
    ``poll_s`` with nothing due. Looking two polls ahead finds a run one poll before its second,
    so a slow answer (the server busy writing the last run's logs) cannot make it start late.
    Asking this endpoint also tells the server the deployment is being served (its UI status)."""
    now = datetime.now(timezone.utc)
    runs = client.get_scheduled_flow_runs_for_deployments(
        deployment_ids=[deployment_id], scheduled_before=now + timedelta(seconds=2 * poll_s))
    if not runs:
        time.sleep(poll_s)
        return None
    run = min(runs, key=lambda r: r.expected_start_time or now)
    wait = ((run.expected_start_time or now) - datetime.now(timezone.utc)).total_seconds()
    if wait > 0:
        time.sleep(wait)
    return run


def _execute(client, flow, run) -> None:
    """Pending (as a worker would propose it), then the flow engine runs it to its final state.
    A failed run is recorded by Prefect and by the runs table; serving goes on."""
    from prefect.flow_engine import run_flow
    from prefect.states import Pending
    from prefect.utilities.engine import propose_state_sync

    state = propose_state_sync(client, Pending(), flow_run_id=run.id)
    if not state.is_pending():  # cancelled or taken by someone else meanwhile
        return
    run_flow(flow, flow_run=client.read_flow_run(run.id), parameters=dict(run.parameters or {}),
             return_type="state")


def _crash_runs_left_running(client, deployment_id) -> int:
    """Runs of this deployment still Pending or Running: their process (an earlier serve) is gone."""
    from prefect.client.schemas.filters import (FlowRunFilter, FlowRunFilterDeploymentId, FlowRunFilterState,
                                                FlowRunFilterStateType)
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    stale = client.read_flow_runs(flow_run_filter=FlowRunFilter(
        deployment_id=FlowRunFilterDeploymentId(any_=[deployment_id]),
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING, StateType.PENDING]))))
    for run in stale:
        client.set_flow_run_state(run.id, Crashed(message=CRASHED_ON_RESTART), force=True)
    return len(stale)

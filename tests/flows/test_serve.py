"""`defwatch serve` starts a real Prefect server, and a scheduled run actually happens."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_scheduled_run_happens_and_ctrl_c_stops_everything(server, tmp_path):
    server.route("/feed", content_type="application/rss+xml", body=(
        b'<rss version="2.0"><channel><title>t</title><item><title>a</title>'
        b"<link>http://e.invalid/a</link><description>The two navies signed a pact.</description></item></channel></rss>"))
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(f'[[feed]]\nname = "f"\nurl = "{server.url("/feed")}"\ntrusted = true\n')
    db = tmp_path / "serve.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve", "--every", "5s", "--db", str(db), "--feeds", str(feeds),
         "--port", "0"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    runs = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(2)
            if not db.exists():
                continue
            try:
                with duckdb.connect(str(db), read_only=True) as con:
                    runs = con.execute("SELECT status, flow_run_id FROM runs WHERE status = 'completed'").fetchall()
            except duckdb.Error:
                continue  # the scheduled run holds the file for writing right now
            if runs:
                break
    finally:
        proc.send_signal(signal.SIGTERM)  # as systemd or `kill` would; Ctrl-C takes the same path
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
    assert runs, f"no scheduled run completed; output:\n{out[-4000:]}"
    assert runs[0][1], "the run row carries the Prefect flow run id"
    assert "Prefect server ready" in out
    # The Prefect server we started is gone with us.
    import re

    port = re.search(r"local Prefect server on 127\.0\.0\.1:(\d+)", out).group(1)
    time.sleep(1)
    left = subprocess.run(["pgrep", "-f", f"prefect server start --host 127.0.0.1 --port {port}"],
                          capture_output=True, text=True)
    assert left.stdout.strip() == "", "the Prefect server outlived `defwatch serve`"
    assert proc.returncode is not None


# -- runs in serve's own process; a one-off ingest beside it -----------------------------------------

def _start_serve(db, feeds, *args, env=None, log=None):
    env = env or {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "DEFWATCH_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve", "--db", str(db), "--feeds", str(feeds), "--port", "0", *args],
        cwd=REPO, env={**env, "COLUMNS": "200"}, stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT,
        start_new_session=True)


def _stop(proc, sig=signal.SIGTERM) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _wait_for(what, check, timeout=240, every=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def _api(db) -> str:
    from flows.runtime.prefect_api import ServerRecord

    return _wait_for("serve's Prefect server", lambda: (ServerRecord(db).live() or (None,))[0])


def _flow_runs(api: str, state: str) -> list[dict]:
    import httpx

    body = {"flow_runs": {"state": {"type": {"any_": [state]}}}}
    return httpx.post(f"{api}/flow_runs/filter", json=body, timeout=10).json()


def test_ingest_beside_serve_reports_to_its_server_and_serve_alerts_to_its_notify_file(tmp_path):
    import httpx

    from tests.reliability.support import SlowSampleServer, received_alert_ids, write_registry
    from tests.support.receiver import Receiver

    srv, receiver = SlowSampleServer().start(), Receiver()
    feeds, db = write_registry(tmp_path, srv.base_url), tmp_path / "serve.duckdb"
    notify = tmp_path / "notify.urls"
    notify.write_text(receiver.url("/serve", scheme="json") + "\n")
    serve = _start_serve(db, feeds, "--every", "1h", "--notify-file", str(notify), log=open(tmp_path / "serve.log", "w"))
    try:
        api = _api(db)
        _wait_for("the first scheduled run", lambda: _flow_runs(api, "COMPLETED"))
        # The scheduled run ran in serve's process: the URLs reached it in memory, not by a file or env.
        assert sum(received_alert_ids(receiver, "/serve").values()) > 0
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "DEFWATCH_"))}
        one_off = subprocess.run([sys.executable, "-m", "flows.cli", "ingest", "--db", str(db), "--feeds", str(feeds),
                                  "--force", "--wait", "120", "--json"], cwd=REPO, env=env, capture_output=True,
                                 text=True, timeout=300)
        assert one_off.returncode == 0, one_off.stderr[-3000:]
        assert one_off.stderr.splitlines()[0] == (f"using the Prefect server of `defwatch serve` (pid {serve.pid}) "
                                                  f"at {api}")
        flow_run = httpx.get(f"{api}/flow_runs/{json.loads(one_off.stdout)['flow_run_id']}", timeout=10).json()
        assert flow_run["state"]["type"] == "COMPLETED"   # in serve's server, beside the scheduled runs
    finally:
        _stop(serve)
        srv.stop()
        receiver.stop()
    assert not (tmp_path / "serve.duckdb.prefect-server.json").exists()


def test_a_run_serve_was_executing_when_killed_is_marked_crashed_when_serve_starts_again(tmp_path):
    from tests.reliability.support import SlowSampleServer, write_registry

    srv = SlowSampleServer().start()
    srv.delays["articles"] = 1.0   # 35 pages, one at a time: the run lasts long enough to be killed
    feeds, db = write_registry(tmp_path, srv.base_url), tmp_path / "serve.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "DEFWATCH_"))}
    env["DEFWATCH_WORKERS"] = "1"
    serve = _start_serve(db, feeds, "--every", "1h", env=env)
    try:
        api = _api(db)
        running = _wait_for("a running scheduled run", lambda: _flow_runs(api, "RUNNING"))
        _wait_for("an article request", lambda: srv.arrived("/articles/"))
    finally:
        _stop(serve, signal.SIGKILL)   # serve, its Prefect server and its cleaner, with no clean-up
    log = tmp_path / "again.log"
    again = _start_serve(db, feeds, "--every", "1h", env=env, log=open(log, "w"))
    try:
        api = _api(db)   # a new server on the same SQLite file: the killed run is still there, Running
        crashed = _wait_for("the killed run marked Crashed", lambda: [
            r for r in _flow_runs(api, "CRASHED") if r["id"] == running[0]["id"]])
    finally:
        _stop(again)
        srv.stop()
    assert crashed[0]["state"]["message"].startswith("defwatch serve stopped while this run was in progress")
    assert "1 run(s) left running by an earlier `defwatch serve` marked Crashed" in log.read_text()


def test_serve_stops_in_one_line_when_the_server_it_started_is_gone(tmp_path):
    from tests.reliability.support import SlowSampleServer, write_registry

    srv = SlowSampleServer().start()
    feeds, db = write_registry(tmp_path, srv.base_url), tmp_path / "serve.duckdb"
    log = tmp_path / "serve.log"
    serve = _start_serve(db, feeds, "--every", "1h", log=open(log, "w"))
    try:
        api = _api(db)
        _wait_for("the first scheduled run", lambda: _flow_runs(api, "COMPLETED"))
        children = subprocess.run(["pgrep", "-P", str(serve.pid), "-f", "prefect server start"], capture_output=True,
                                  text=True).stdout.split()
        assert len(children) == 1, children
        os.kill(int(children[0]), signal.SIGKILL)   # the server dies under serve (OOM killer, an admin)
        code = serve.wait(timeout=180)
    finally:
        _stop(serve)
        srv.stop()
    out = log.read_text()
    assert code == 1
    # Its last words (Prefect's log worker may first say, without a newline, that it cannot reach the server).
    assert out.count("error:") == 1 and out.rstrip().endswith(
        f"error: the Prefect server this serve started exited (code -9); its log: {db.resolve()}.prefect-server.log. "
        f"Start `defwatch serve` again.")
    assert not (tmp_path / "serve.duckdb.prefect-server.json").exists()

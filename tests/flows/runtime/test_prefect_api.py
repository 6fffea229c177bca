"""Which Prefect API a command reports to (flows/runtime/prefect_api.py): PREFECT_API_URL's, the
server of a `defwatch serve` running on the same database, or an embedded one of its own that
starts at launch and never outlives the command."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys

import pytest

from flows.errors import ConfigError
from flows.runtime.prefect_api import PrefectUnavailable, ServerRecord, prefect_api
from tests.reliability.faults_support import run_defwatch
from tests.reliability.support import SlowSampleServer, child_env, write_registry


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_server_record_counts_only_while_serve_lives_and_its_server_answers(server, tmp_path):
    server.route("/api/health", body=b"true", content_type="application/json")
    api = server.url("/api")
    record = ServerRecord(tmp_path / "events.duckdb")
    assert record.path == tmp_path / "events.duckdb.prefect-server.json"
    assert record.live() is None                                    # no record

    with record.kept(api):
        assert json.loads(record.path.read_text())["pid"] == os.getpid()
        assert record.live() == (api, os.getpid())                  # this process lives, the API answers
    assert not record.path.exists()                                 # removed when serve stops

    record.path.write_text(json.dumps({"api_url": api, "pid": _dead_pid()}))
    assert record.live() is None                                    # serve is gone (killed: no clean-up)
    record.path.write_text(json.dumps({"api_url": "http://127.0.0.1:9/api", "pid": os.getpid()}))
    assert record.live() is None                                    # its server does not answer
    record.path.write_text("{not json")
    assert record.live() is None
    other = {"api_url": api, "pid": _dead_pid()}
    record.path.write_text(json.dumps(other))
    record.remove()                                                 # another serve's record stays
    assert json.loads(record.path.read_text()) == other


def test_a_live_server_record_is_used_and_said(server, tmp_path, monkeypatch):
    server.route("/api/health", body=b"true", content_type="application/json")
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    db = tmp_path / "events.duckdb"
    with ServerRecord(db).kept(server.url("/api")), prefect_api(db) as api:
        assert (api.origin, api.url, api.server) == ("serve", server.url("/api"), None)
        assert api.describe() == (f"using the Prefect server of `defwatch serve` (pid {os.getpid()}) at "
                                  f"{server.url('/api')}")


def test_an_unreachable_prefect_api_url_is_one_line_before_anything_runs(tmp_path):
    srv = SlowSampleServer().start()
    try:
        feeds = write_registry(tmp_path, srv.base_url)
        db = tmp_path / "events.duckdb"
        out = run_defwatch(["ingest", "--db", str(db), "--feeds", str(feeds)], child_env("http://127.0.0.1:9/api"))
    finally:
        srv.stop()
    assert out.returncode == 2, out.stderr[-2000:]
    assert out.lines == ["error: the Prefect server at http://127.0.0.1:9/api (PREFECT_API_URL) does not answer: "
                         "start it, or unset PREFECT_API_URL to run on an embedded server."]
    assert srv.arrived("/") == 0 and out.leftovers == []
    assert issubclass(PrefectUnavailable, ConfigError)  # exit 2: the environment, not the run, is wrong


@pytest.mark.slow
def test_the_embedded_server_goes_when_the_command_is_killed(tmp_path):
    """SIGKILL gives the command no chance to stop its server: the server is told by the kernel
    (PR_SET_PDEATHSIG) and is gone within the few seconds the harness waits for leftovers."""
    srv = SlowSampleServer().start()
    srv.delays["articles"] = 0.2
    try:
        feeds = write_registry(tmp_path, srv.base_url)
        out = run_defwatch(["ingest", "--db", str(tmp_path / "k.duckdb"), "--feeds", str(feeds), "--force"],
                           child_env(None, {"DEFWATCH_KILL_AT": "after-store", "DEFWATCH_WORKERS": "1"}))
    finally:
        srv.stop()
    assert out.returncode == -9, out.stderr[-3000:]
    assert out.leftovers == []


@pytest.mark.slow
def test_ctrl_c_stops_the_command_and_its_server_and_the_next_run_finishes_the_work(tmp_path):
    """Ctrl-C in a terminal signals the whole foreground process group: the command, its embedded
    server, its cleaning workers. All of them go; the next run stores what the interrupted one had not."""
    import signal
    import time

    from tests.reliability.faults_support import _group_members
    from tests.reliability.support import REPO, run_cli, snapshot

    srv = SlowSampleServer().start()
    srv.delays["articles"] = 0.5
    db = tmp_path / "c.duckdb"
    try:
        feeds = write_registry(tmp_path, srv.base_url)
        env = child_env(None, {"DEFWATCH_WORKERS": "1"})
        with open(tmp_path / "ctrl-c.log", "w") as log:
            proc = subprocess.Popen([sys.executable, "-m", "flows.cli", "ingest", "--db", str(db), "--feeds",
                                     str(feeds), "--force"], cwd=REPO, env=env, stdout=log, stderr=log,
                                    start_new_session=True)
            try:
                deadline = time.monotonic() + 120
                while srv.arrived("/articles/") < 3 and time.monotonic() < deadline and proc.poll() is None:
                    time.sleep(0.05)
                assert proc.poll() is None, "the run ended before it could be interrupted"
                os.killpg(proc.pid, signal.SIGINT)   # what a terminal's Ctrl-C does
                code = proc.wait(timeout=60)
                left = _group_members(proc.pid)
                for _ in range(50):                  # its server and workers: gone within 10 s
                    if not left:
                        break
                    time.sleep(0.2)
                    left = _group_members(proc.pid)
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        assert code != 0 and left == [], (code, left, (tmp_path / "ctrl-c.log").read_text()[-2000:])
        again = run_cli(["ingest", "--db", str(db), "--feeds", str(feeds), "--force"], env, tmp_path, tag="again")
        assert again.returncode == 0, again.stderr[-3000:]
        reference = tmp_path / "ref.duckdb"
        whole = run_cli(["ingest", "--db", str(reference), "--feeds", str(feeds), "--force"], env, tmp_path, tag="ref")
        assert whole.returncode == 0, whole.stderr[-3000:]
        assert snapshot(db, srv.base_url).articles == snapshot(reference, srv.base_url).articles
    finally:
        srv.stop()


def test_a_server_in_prefects_profile_is_used_and_one_that_does_not_answer_is_one_line(tmp_path):
    """PREFECT_API_URL may live in Prefect's profile rather than the environment: known only once
    Prefect is imported, it still wins over the embedded server (which is stopped, not left)."""
    home = tmp_path / "prefect-home"
    home.mkdir()
    (home / "profiles.toml").write_text('active = "remote"\n\n[profiles.remote]\n'
                                        'PREFECT_API_URL = "http://127.0.0.1:9/api"\n')
    srv = SlowSampleServer().start()
    try:
        feeds = write_registry(tmp_path, srv.base_url)
        out = run_defwatch(["ingest", "--db", str(tmp_path / "p.duckdb"), "--feeds", str(feeds)],
                           child_env(None, {"PREFECT_HOME": str(home)}))
    finally:
        srv.stop()
    assert out.returncode == 2, out.stderr[-2000:]
    assert out.lines == ["error: the Prefect server at http://127.0.0.1:9/api (PREFECT_API_URL in Prefect's profile "
                         "or settings file) does not answer: start it, or remove that setting to run on an embedded "
                         "server."]
    assert out.leftovers == []

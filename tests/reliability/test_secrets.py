"""Secrets and access: a --notify URL's token never appears in run_errors, alert_deliveries or the
output; the query command cannot write; the database file is owner-only."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.reliability.faults_support import run_defwatch
from tests.reliability.support import ALERT_CONFIG, SlowSampleServer, child_env, query_db, run_cli, write_registry
from tests.support.receiver import Receiver

pytestmark = pytest.mark.flow
TOKEN = "tok3n-Zq81x"


@pytest.fixture(scope="module")
def failed_notify_run(tmp_path_factory, prefect_api_url):
    tmp = tmp_path_factory.mktemp("secrets")
    srv = SlowSampleServer().start()
    try:
        feeds = write_registry(tmp, srv.base_url)
        config = tmp / "alerts.toml"
        config.write_text(ALERT_CONFIG)
        db = tmp / "s.duckdb"
        env = child_env(prefect_api_url, {"DEFWATCH_CONFIG": str(config), "DEFWATCH_WORKERS": "1",
                                          "DEFWATCH_WEBHOOK_SECRET": TOKEN + "-hmac"})
        # port 1 on loopback: nothing listens, every delivery fails and is recorded
        run = run_cli(["ingest", "--db", str(db), "--feeds", str(feeds), "--force", "--json",
                       "--notify", f"json://user:{TOKEN}@127.0.0.1:1/x?token={TOKEN}"], env, tmp, tag="notify")
    finally:
        srv.stop()
    return run, db, tmp, env


def test_a_failing_notify_url_never_shows_its_token(failed_notify_run):
    run, db, tmp, env = failed_notify_run
    assert run.returncode == 0, run.stderr[-3000:]
    summary = run.json()
    assert summary["alerts_failed"] > 0 and summary["alerts_sent"] == 0
    errors = query_db(db, "SELECT last_error, channel_label, channel_key FROM alert_deliveries")
    assert errors and all(e[0] for e in errors), "each failed delivery records why"
    everything = "\n".join([run.stdout, run.stderr, repr(errors),
                            repr(query_db(db, "SELECT * FROM run_errors")), repr(query_db(db, "SELECT * FROM runs")),
                            repr(query_db(db, "SELECT * FROM alerts"))])
    assert TOKEN not in everything
    assert "127.0.0.1:1" in errors[0][1], "the label still says where it went"


def test_query_cannot_write(failed_notify_run):
    run, db, tmp, env = failed_notify_run
    before = query_db(db, "SELECT count(*) FROM articles")
    for sql in ["DELETE FROM articles", "drop table events", "/* c */ UPDATE runs SET status = 'x'",
                "WITH x AS (SELECT 1) DELETE FROM articles", "SELECT 1; DELETE FROM articles",
                "COPY articles TO '/tmp/x.csv'", "ATTACH '/tmp/other.duckdb' AS o",
                "CREATE TABLE t AS SELECT 1", "INSTALL httpfs"]:
        r = run_cli(["query", "--db", str(db), sql], env, tmp, tag="query")
        assert r.returncode != 0, sql
        assert "read-only" in r.stderr or "refused" in r.stderr or "error:" in r.stderr, (sql, r.stderr[-500:])
        assert "Traceback" not in r.stderr, r.stderr[-1500:]
    assert query_db(db, "SELECT count(*) FROM articles") == before
    assert query_db(db, "SELECT count(*) FROM runs WHERE status = 'x'") == [(0,)]


def test_database_file_is_owner_only(failed_notify_run):
    run, db, tmp, env = failed_notify_run
    for path in [db, db.with_name(db.name + ".lock")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path.name} is {oct(mode)}"


def _descendants(pid: int) -> list[int]:
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += kids
        todo += kids
    return out


@pytest.mark.parametrize("given", ["--notify-file", "--notify"])
def test_notify_tokens_never_reach_a_command_line_or_a_child_environment(tmp_path, given):
    """--notify-file keeps the token out of the process listing, and DEFWATCH_NOTIFY is taken out of
    the environment before any child starts: the embedded Prefect server, the forkserver and the
    cleaning workers are read from /proc (cmdline and environ) all through a run. A --notify URL is
    in defwatch's own command line (the user typed it there; the help says so), in no child's."""
    file_token, env_token = "fil3-T0ken-a81", "env-T0ken-b92"
    receiver = Receiver()
    srv = SlowSampleServer().start()
    srv.delays["articles"] = 0.3   # a run of some seconds, its children alive meanwhile
    try:
        feeds = write_registry(tmp_path, srv.base_url)
        config = tmp_path / "alerts.toml"
        config.write_text(ALERT_CONFIG)
        notify_file = tmp_path / "notify.urls"
        notify_file.write_text(f"# alerts go here\n{receiver.url('/file', scheme='json')}?token={file_token}\n")
        notify_file.chmod(0o600)
        # No PREFECT_API_URL: the run starts its own Prefect server, a child whose environment is read.
        env = child_env(None, {"DEFWATCH_CONFIG": str(config), "DEFWATCH_WORKERS": "2", "DEFWATCH_BATCH_SIZE": "5",
                               "DEFWATCH_NOTIFY": f"{receiver.url('/env', scheme='json')}?token={env_token}"})
        seen: dict[int, str] = {}
        leaks: list[str] = []

        def watch(proc) -> None:
            while proc.returncode is None:
                for pid in [proc.pid, *_descendants(proc.pid)]:
                    try:
                        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes() if (
                            pid != proc.pid or given == "--notify-file") else b""
                        environ = Path(f"/proc/{pid}/environ").read_bytes() if pid != proc.pid else b""
                    except OSError:
                        continue
                    seen[pid] = cmdline.replace(b"\0", b" ").decode(errors="replace")
                    for token in (file_token, env_token):
                        if token.encode() in cmdline or token.encode() in environ:
                            leaks.append(f"{token} in process {pid}: {seen[pid][:150]}")
                time.sleep(0.1)

        run = run_cli(["ingest", "--db", str(tmp_path / "n.duckdb"), "--feeds", str(feeds), "--force", "--json",
                       *([given, str(notify_file)] if given == "--notify-file" else
                         [given, f"{receiver.url('/file', scheme='json')}?token={file_token}"])],
                      env, tmp_path, timeout=300, while_running=watch, tag="nf")
        assert run.returncode == 0, run.stderr[-3000:]
        assert leaks == []
        children = [cmd for pid, cmd in seen.items() if pid != run.pid]
        assert any("forkserver" in cmd for cmd in children), children      # the cleaning pool
        assert any("uvicorn" in cmd or "prefect" in cmd for cmd in children), children  # the Prefect server
        # The file's URL is the channel (it overrides DEFWATCH_NOTIFY, as --notify does).
        assert run.json()["alerts_sent"] > 0
        with receiver.lock:
            paths = {m.path.split("?")[0] for m in receiver.received}
        assert paths == {"/file"}
        assert file_token not in run.stdout + run.stderr and env_token not in run.stdout + run.stderr
    finally:
        srv.stop()
        receiver.stop()


def test_a_bad_notify_file_is_one_line(tmp_path):
    missing = tmp_path / "nope.urls"
    out = run_defwatch(["ingest", "--db", str(tmp_path / "x.duckdb"), "--feeds", str(REPO / "samples" / "feeds.toml"),
                        "--notify-file", str(missing)], child_env(None))
    assert out.returncode == 2
    assert out.lines == [f"error: --notify-file {missing} cannot be read (No such file or directory): give a file "
                         f"with one apprise URL a line, readable by this user."]
    assert out.leftovers == [] and not (tmp_path / "x.duckdb").exists()

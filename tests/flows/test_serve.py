"""`defwatch serve` starts a real Prefect server, and a scheduled run actually happens."""

from __future__ import annotations

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

"""Every benchmark script runs with --quick and prints its figure lines (no timing assertions).

The benchmarks live in benchmarks/ (see benchmarks/RESULTS.md); this keeps them from rotting.
Each script runs in a subprocess, as a user would run it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"

# script -> figure lines it must print ("RESULT <name> value=...")
EXPECTED = {
    "cores.py": ["cores.clean_1_worker_pages_per_s", "cores.clean_2_workers_pages_per_s", "cores.speedup_2_vs_1"],
    "queries.py": ["queries.top_party_pairs_by_mentions_ms", "queries.events_type_party_ms",
                   "queries.events_as_of_ms", "queries.slowest_median_ms"],
    "startup.py": ["startup.first_request_s", "startup.import_cli_s", "startup.help_s"],
    "e2e_ingest.py": ["e2e.steady_articles_per_s", "e2e.steady_vs_one_client_floor", "e2e.connections",
                      "e2e.tail_s", "e2e.total_articles_per_s", "e2e.startup_to_first_request_s",
                      "e2e.peak_rss_tree_mb"],
    "not_modified.py": ["not_modified.after_startup_s", "not_modified.requests"],
    "memory.py": ["memory.peak_rss_tree_100_mb", "memory.peak_rss_tree_400_mb", "memory.growth_ratio"],
    "_ab.py": ["ab.ratio[as-is]"],
    "alert_channels.py": ["alert_channels.log_cpu_ms_per_alert", "alert_channels.prefect_cpu_ms_per_alert"],
    "scaleout.py": ["scaleout.fast.one_process_s", "scaleout.fast.workers_2_s"],
    "backup_restore.py": ["backup_demo", "restore_demo", "check_demo", "checkpoint_copy_demo",
                          "backup_20k_events", "restore_20k_events"],
    "serve_runs.py": [f"serve.{s}.{f}" for s in ("incremental", "not_modified")
                      for f in ("run_wall_s", "start_late_s", "server_cpu_s_per_run")]
                     + ["serve.server_idle_cpu_s_per_min", "serve.incremental.one_off_embedded_s"],
}


def test_every_script_dev_bench_runs_is_smoke_tested():
    # `./dev bench` runs every benchmarks/*.py not starting with "_". One that CI does not run
    # can break unseen: profile_ingest.py (it needs py-spy, not a dependency) stopped `./dev bench`
    # on a fresh checkout before queries.py and startup.py ran; it is now _profile_ingest.py.
    run_by_dev_bench = {p.name for p in BENCH.glob("[!_]*.py")}
    assert run_by_dev_bench == (set(EXPECTED) | {"extract_speed.py"}) - {"_ab.py"}


@pytest.mark.slow
@pytest.mark.parametrize("script", list(EXPECTED))
def test_benchmark_quick(script):
    p = subprocess.run([sys.executable, str(BENCH / script), "--quick"], cwd=ROOT, capture_output=True,
                       text=True, timeout=240)
    assert p.returncode == 0, f"{script} exited {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    skipped = [l for l in p.stdout.splitlines() if l.startswith("SKIP")]
    if skipped:  # scaleout.py without PostgreSQL or the DuckLake extensions: it says what is missing
        pytest.skip(f"{script}: {skipped[0]}")
    lines = [l for l in p.stdout.splitlines() if l.startswith("RESULT ")]
    names = {l.split()[1] for l in lines}
    missing = [n for n in EXPECTED[script] if n not in names]
    assert not missing, f"{script} did not print {missing}\n{p.stdout[-3000:]}"
    for line in lines:
        assert " value=" in line and " unit=" in line, line
        value = line.split(" value=")[1].split()[0]
        assert value not in ("nan", "inf"), line


def test_extract_speed_quick():
    """The extractor benchmark prints a Markdown block: its figure, the regex floor and the ratio."""
    p = subprocess.run([sys.executable, str(BENCH / "extract_speed.py"), "--quick"], cwd=ROOT, capture_output=True,
                       text=True, timeout=240)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "| extractors.extract |" in p.stdout
    assert "| floor: one compiled regex findall |" in p.stdout
    assert "ratio floor/extractor:" in p.stdout

"""Start-up: `defwatch ingest` launch to its first HTTP request; import time of the CLI and of
`defwatch --help` (which must import neither Prefect nor trafilatura).

    python benchmarks/startup.py            # 3 warm ingest starts + 1 cold (fresh PREFECT_HOME), 7 --help runs
    python benchmarks/startup.py --quick    # 1 warm ingest start, 3 --help runs (CI)

Warm: the benchmarks' shared PREFECT_HOME (as a user's ~/.prefect); cold: an empty PREFECT_HOME.
The floor of the import figures is the bare interpreter (`python -c pass`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time

import _lib
from _lib import median, result, section

HEAVY = ("prefect", "trafilatura", "duckdb", "httpx", "feedparser", "pyarrow", "lxml")
PROBE = ("import sys, json\n{body}\n"
         "print('MODULES ' + json.dumps({{m: m in sys.modules for m in {heavy!r}}}), file=sys.stderr)")


def timed(argv, repeat: int, env) -> tuple[list[float], str]:
    times, err = [], ""
    for _ in range(repeat):
        t = time.perf_counter()
        p = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=_lib.ROOT)
        times.append(time.perf_counter() - t)
        if p.returncode != 0:
            raise RuntimeError(f"{argv} exited {p.returncode}: {p.stderr[-2000:]}")
        err = p.stderr
    return times, err


def modules(stderr: str) -> dict:
    for line in stderr.splitlines():
        if line.startswith("MODULES "):
            return json.loads(line[8:])
    return {}


def first_request(tmp, web, feeds_toml, i, env_extra=None) -> float:
    run, _, st = _lib.ingest(tmp, web, feeds_toml, tmp / f"s{i}.duckdb", env_extra=env_extra)
    return st["first_ts"] - run.t_launch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int, default=3, help="warm ingest starts")
    ap.add_argument("--repeat", type=int, default=7, help="runs of each import probe")
    a = ap.parse_args()
    if a.quick:
        a.runs, a.repeat = 1, 3
    _lib.print_machine()
    with _lib.workdir("startup") as tmp:
        env = _lib.bench_env(tmp)
        section(f"imports ({a.repeat} runs each)")
        bare, _ = timed([_lib.PY, "-c", "pass"], a.repeat, env)
        imp, err_imp = timed([_lib.PY, "-c", PROBE.format(body="import flows.cli", heavy=HEAVY)], a.repeat, env)
        hlp, _ = timed(_lib.cli_cmd() + ["--help"], a.repeat, env)
        _, err_help = timed([_lib.PY, "-c", PROBE.format(
            body="sys.argv = ['defwatch', '--help']\nfrom flows.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass",
            heavy=HEAVY)], 1, env)
        m_imp, m_help = modules(err_imp), modules(err_help)
        print(f"`import flows.cli` imports: {sorted(k for k, v in m_imp.items() if v) or 'none of ' + ', '.join(HEAVY)}")
        print(f"`defwatch --help` imports: {sorted(k for k, v in m_help.items() if v) or 'none of ' + ', '.join(HEAVY)}")

        section("ingest: launch to first request")
        with _lib.Web(feeds=1, items=1, hosts=1, latency_s=0.0, small_pages=True) as web:
            feeds_toml = tmp / "feeds.toml"
            web.write_feeds_toml(feeds_toml)
            warm = [first_request(tmp, web, feeds_toml, i) for i in range(a.runs)]
            print(f"warm PREFECT_HOME: {', '.join(f'{x:.2f}' for x in warm)} s", flush=True)
            cold = None
            if not a.quick:
                cold = first_request(tmp, web, feeds_toml, 99, {"PREFECT_HOME": str(tmp / "fresh-prefect-home")})
                print(f"fresh PREFECT_HOME: {cold:.2f} s", flush=True)

    section("results (medians)")
    b = median(bare)
    result("startup.first_request_s", median(warm), "s", note="defwatch ingest launch to first HTTP request, warm PREFECT_HOME")
    if cold is not None:
        result("startup.first_request_cold_s", cold, "s", note="fresh PREFECT_HOME")
    result("startup.import_cli_s", median(imp), "s", floor=b, ratio=b / median(imp),
           note=f"heavy modules imported: {sorted(k for k, v in m_imp.items() if v) or 'none'}")
    ok = not m_help.get("prefect") and not m_help.get("trafilatura")
    result("startup.help_s", median(hlp), "s", floor=b, ratio=b / median(hlp), goal="<0.5 s and no prefect/trafilatura",
           met=median(hlp) < 0.5 and ok, note=f"heavy modules imported: {sorted(k for k, v in m_help.items() if v) or 'none'}")


if __name__ == "__main__":
    main()

"""Shared helpers of the benchmark scripts: the loopback web, running the real CLI, the process
tree's memory, medians, and one uniform result line per figure::

    RESULT <name> value=<v> unit=<u> [floor=<f>] [ratio=<r>] [goal=<g>] [met=yes|no]
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for p in (str(ROOT), str(BENCH)):
    if p not in sys.path:
        sys.path.insert(0, p)

PY = sys.executable


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def result(name: str, value: float, unit: str, floor: float | None = None, ratio: float | None = None,
           goal: str | None = None, met: bool | None = None, note: str = "") -> None:
    parts = [f"RESULT {name}", f"value={value:.4g}", f"unit={unit}"]
    if floor is not None:
        parts.append(f"floor={floor:.4g}")
    if ratio is not None:
        parts.append(f"ratio={ratio:.3g}")
    if goal is not None:
        parts.append(f"goal={goal}")
    if met is not None:
        parts.append(f"met={'yes' if met else 'no'}")
    if note:
        parts.append(f"# {note}")
    print("  ".join(parts), flush=True)


def section(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


# -- the loopback web ------------------------------------------------------------------------------

class Web:
    """benchmarks/_server.py in a subprocess; stops when the context exits."""

    def __init__(self, **cfg):
        self.cfg = cfg
        self.proc = subprocess.Popen([PY, str(BENCH / "_server.py"), json.dumps(cfg)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            self.proc.kill()
            raise RuntimeError("benchmark server did not start")
        info = json.loads(line)
        self.control, self.feeds = info["control"], info["feeds"]

    def stats(self) -> dict:
        with urllib.request.urlopen(self.control + "/_stats", timeout=10) as r:
            return json.loads(r.read())

    def reset(self) -> dict:
        with urllib.request.urlopen(self.control + "/_reset", timeout=10) as r:
            return json.loads(r.read())

    def publish(self, n: int) -> dict:
        """Publish ``n`` new articles spread over the feeds (one feed each, in turn): their URLs
        ("published") and the feeds that changed ("feeds")."""
        with urllib.request.urlopen(f"{self.control}/_publish?n={n}", timeout=10) as r:
            return json.loads(r.read())

    def write_feeds_toml(self, path: Path, names: list[str] | None = None) -> list[str]:
        names = names or [f"bench-{i:04d}" for i in range(len(self.feeds))]
        lines = []
        for name, url in zip(names, self.feeds):
            lines += ["[[feed]]", f'name = "{name}"', f'url = "{url}"', 'tags = ["bench"]', 'language = "en"',
                      "enabled = true", "trusted = true   # loopback benchmark server", ""]
        path.write_text("\n".join(lines), encoding="utf-8")
        return names

    def close(self):
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@contextlib.contextmanager
def workdir(prefix: str):
    d = Path(tempfile.mkdtemp(prefix=f"defwatch-bench-{prefix}-"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


# -- process tree memory ---------------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    out = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return out
    for tid in tids:  # a thread may end while we look: skip it, not the threads after it
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
    return out


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return 0.0


_TICKS = os.sysconf("SC_CLK_TCK")


def _cmd(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")[:160]
    except OSError:
        return "?"


def tree(pid: int) -> list[int]:
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _children(p)
    return seen


class RssSampler(threading.Thread):
    """Samples the RSS of a process and all its descendants every ``every_s``; keeps the peaks, and
    the CPU seconds each process used (last sample), summed by role in ``cpu_by_role``."""

    def __init__(self, pid: int, every_s: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.every_s = pid, every_s
        self.peak_total_kb = 0
        self.peak_main_kb = 0
        self.peak_by_role: dict[str, int] = {}
        self._cpu: dict[int, tuple[str, float]] = {}
        self.timeline: list[tuple[float, dict[str, float]]] = []  # (time.time(), CPU s by role so far)
        self._stop_evt = threading.Event()

    @staticmethod
    def role(pid: int, main: int) -> str:
        if pid == main:
            return "cli"
        c = _cmd(pid)
        if "uvicorn" in c or "prefect" in c and "server" in c or "prefect.server" in c:
            return "prefect-server"
        if "forkserver" in c or "multiprocessing" in c:
            return "cleaners"
        return "other"

    def run(self):
        while not self._stop_evt.is_set():
            pids = tree(self.pid)
            by_role: dict[str, int] = {}
            total = 0
            for p in pids:
                kb = _rss_kb(p)
                total += kb
                # A role once seen sticks: an exiting process's cmdline reads empty.
                r = self._cpu[p][0] if p in self._cpu and self._cpu[p][0] != "other" else self.role(p, self.pid)
                by_role[r] = by_role.get(r, 0) + kb
                cpu = _cpu_s(p)
                if cpu:
                    self._cpu[p] = (r, cpu)
            self.peak_total_kb = max(self.peak_total_kb, total)
            self.peak_main_kb = max(self.peak_main_kb, _rss_kb(self.pid))
            for r, kb in by_role.items():
                self.peak_by_role[r] = max(self.peak_by_role.get(r, 0), kb)
            self.timeline.append((time.time(), self.cpu_by_role))
            self._stop_evt.wait(self.every_s)

    def stop(self):
        self._stop_evt.set()
        self.join(timeout=2)

    def cpu_since(self, t0: float) -> dict[str, float]:
        """CPU seconds by role used after ``t0`` (e.g. the first request: the steady state)."""
        before = next((cpu for t, cpu in reversed(self.timeline) if t <= t0), {})
        return {r: round(v - before.get(r, 0.0), 2) for r, v in self.cpu_by_role.items()}

    @property
    def cpu_by_role(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for role, cpu in self._cpu.values():
            out[role] = round(out.get(role, 0.0) + cpu, 2)
        return out


# -- the real CLI ----------------------------------------------------------------------------------

def cli_cmd() -> list[str]:
    exe = Path(PY).parent / "defwatch"
    return [str(exe)] if exe.exists() else [PY, "-m", "flows.cli"]


def prefect_home() -> str:
    """One PREFECT_HOME for all benchmark runs, as a user has one ~/.prefect: a fresh home adds
    5-10 s of database set-up to a run (startup.py measures that cold start on its own)."""
    home = os.environ.get("DEFWATCH_BENCH_PREFECT_HOME") or str(Path(tempfile.gettempdir()) / "defwatch-bench-prefect-home")
    Path(home).mkdir(parents=True, exist_ok=True)
    return home


def bench_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DEFWATCH_", "PREFECT_API_URL"))}
    env.update({
        "PREFECT_HOME": prefect_home(),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PYTHONPATH": str(ROOT),
        "COLUMNS": "200",
    })
    env.update(extra)
    return env


class CliRun:
    def __init__(self, argv, rc, stdout, stderr, t_launch, t_end, sampler: RssSampler | None):
        self.argv, self.rc, self.stdout, self.stderr = argv, rc, stdout, stderr
        self.t_launch, self.t_end = t_launch, t_end
        self.sampler = sampler

    @property
    def wall_s(self) -> float:
        return self.t_end - self.t_launch

    def json(self) -> dict:
        text = self.stdout
        start = text.find("{")
        return json.loads(text[start:]) if start >= 0 else {}

    def check(self):
        if self.rc != 0:
            raise RuntimeError(f"{' '.join(self.argv)} exited {self.rc}\nstdout:\n{self.stdout[-3000:]}\n"
                               f"stderr:\n{self.stderr[-3000:]}")
        return self


def run_cli(args: list[str], tmp: Path, env: dict[str, str], sample_rss: bool = False,
            timeout: float = 900) -> CliRun:
    argv = cli_cmd() + args
    t0 = time.time()
    proc = subprocess.Popen(argv, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = None
    if sample_rss:
        sampler = RssSampler(proc.pid)
        sampler.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        for p in reversed(tree(proc.pid)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, 9)
        out, err = proc.communicate()
    t1 = time.time()
    if sampler:
        sampler.stop()
    return CliRun(argv, proc.returncode, out, err, t0, t1, sampler)


def ingest(tmp: Path, web: Web, feeds_toml: Path, db: Path, env_extra: dict[str, str] | None = None,
           sample_rss: bool = False) -> tuple[CliRun, dict, dict]:
    """One `defwatch ingest --force --json` run; returns the run, its summary and the server's stats."""
    web.reset()
    run = run_cli(["ingest", "--db", str(db), "--feeds", str(feeds_toml), "--force", "--json"], tmp,
                  bench_env(tmp, **(env_extra or {})), sample_rss=sample_rss).check()
    return run, run.json(), web.stats()


# -- the machine -----------------------------------------------------------------------------------

def machine() -> dict[str, str]:
    info = {"nproc": str(os.cpu_count()), "python": platform.python_version()}
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError):
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                info["ram"] = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    from importlib.metadata import version
    for pkg in ("duckdb", "prefect", "trafilatura", "feedparser", "httpx"):
        with contextlib.suppress(Exception):
            info[pkg] = version(pkg)
    return info


def print_machine() -> None:
    m = machine()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in m.items()), flush=True)

"""Backup, restore and check: seconds for the demo database and a large generated one.

    python benchmarks/backup_restore.py                 # demo database + 1,000,000 events
    python benchmarks/backup_restore.py --events 50000  # quicker
    python benchmarks/backup_restore.py --quick         # 20,000 events, one repeat (CI smoke test)

`defwatch backup` is DuckDB's EXPORT DATABASE (Parquet) and `restore` its IMPORT DATABASE followed
by `check`; the alternative measured beside them is a checkpoint and a plain copy of the file
(consistent too while no writer runs, but tied to the DuckDB version that wrote it). Figures are
medians of --repeat runs of the warehouse functions (no CLI start-up).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import _lib
from _lib import median, result, section


def _time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return median(times)


def measure(name: str, db: Path, tmp: Path, repeat: int) -> None:
    from warehouse import maintenance
    from warehouse.db import write_connection

    counter = iter(range(10_000))
    size = db.stat().st_size

    def backup():
        return maintenance.backup(db, tmp / f"{name}-backup-{next(counter)}")

    t_backup = _time(backup, repeat)
    folder = backup().target
    restored = tmp / f"{name}-restored.duckdb"
    t_restore = _time(lambda: maintenance.restore(folder, restored, force=True), repeat)
    t_check = _time(lambda: maintenance.check(db), repeat)

    def copy():
        with write_connection(db) as con:
            con.execute("CHECKPOINT")
        shutil.copyfile(db, tmp / f"{name}-copy.duckdb")

    t_copy = _time(copy, repeat)
    section(f"{name}: {size / 1e6:.1f} MB file, backup folder {maintenance._folder_bytes(folder) / 1e6:.1f} MB")
    result(f"backup_{name}", t_backup, "s")
    result(f"restore_{name}", t_restore, "s", note="IMPORT DATABASE + CHECKPOINT + check")
    result(f"check_{name}", t_check, "s")
    result(f"checkpoint_copy_{name}", t_copy, "s", note="the alternative: CHECKPOINT + file copy")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="20,000 events, one repeat (the CI smoke test)")
    a = ap.parse_args()
    if a.quick:
        a.events, a.repeat = 20_000, 1
    with tempfile.TemporaryDirectory(prefix="defwatch-backup-") as t:
        tmp = Path(t)
        demo = tmp / "demo.duckdb"
        subprocess.run([_lib.PY, "-m", "flows.cli", "demo", "--db", str(demo), "--json"], cwd=_lib.ROOT,
                       check=True, capture_output=True)
        measure("demo", demo, tmp, a.repeat)
        import queries

        large = tmp / "large.duckdb"
        queries.generate(large, a.events)
        measure(f"{a.events // 1000}k_events", large, tmp, a.repeat)


if __name__ == "__main__":
    main()

"""The `defwatch` app as a user meets it: its help lists every command, each in the README, and starts fast."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import REPO
from tests.support.cli import defwatch


def test_help_lists_every_command_and_each_is_in_the_readme():
    out = defwatch("--help")
    assert out.returncode == 0
    commands = re.findall(r"│ (\w[\w-]*)\s{2,}", out.stdout)
    assert {"ingest", "demo", "feeds", "serve", "extract", "eval"} <= set(commands)
    readme = (REPO / "README.md").read_text()
    undocumented = [c for c in commands if f"defwatch {c}" not in readme]
    assert undocumented == [], f"commands missing from README.md: {undocumented}"


def test_help_does_not_import_prefect_or_trafilatura():
    code = ("import sys; from flows.cli import app; from typer.testing import CliRunner; "
            "CliRunner().invoke(app, ['--help']); "
            "print(sorted(m for m in ('prefect', 'trafilatura', 'duckdb') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"

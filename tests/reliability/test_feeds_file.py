"""A feed registry that lists nothing, or a folder given as --feeds: one line, exit 2, before
anything starts (no database created, no Prefect server, nothing left running). An empty registry
used to run, create an empty database and say nothing; a folder gave a traceback."""

from __future__ import annotations

import pytest

from tests.reliability.faults_support import run_defwatch
from tests.reliability.support import child_env

pytestmark = pytest.mark.flow


@pytest.mark.parametrize("text", ["", "# no feeds yet\n\n"], ids=["empty", "comments-only"])
@pytest.mark.parametrize("command", [["ingest"], ["serve", "--every", "1h"]])
def test_a_registry_without_feeds_is_one_line_and_creates_no_database(tmp_path, text, command):
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(text)
    db = tmp_path / "events.duckdb"
    # No PREFECT_API_URL: had the command got as far as Prefect, a server would be started (and left).
    out = run_defwatch([*command, "--db", str(db), "--feeds", str(feeds)], child_env(None), settle_s=2)
    assert out.returncode == 2
    assert out.lines == [f"error: {feeds} lists no feeds: nothing to ingest, and no database was created. "
                         f"Add feeds to it, as samples/feeds.toml does."]
    assert out.leftovers == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feeds.toml"]


@pytest.mark.parametrize("command", [["ingest"], ["serve", "--every", "1h"]])
def test_a_folder_as_feeds_is_one_line(tmp_path, command):
    folder = tmp_path / "conf"
    folder.mkdir()
    db = tmp_path / "events.duckdb"
    out = run_defwatch([*command, "--db", str(db), "--feeds", str(folder)], child_env(None), settle_s=2)
    assert out.returncode == 2
    assert out.lines == [f"error: --feeds {folder} is a folder: give the feed registry file (TOML), e.g. "
                         f"{folder / 'feeds.toml'}."]
    assert out.leftovers == [] and not db.exists()

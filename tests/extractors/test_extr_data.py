"""Rule data validation: a bad data file raises RuleDataError with a stable code."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import extractors
from extractors.errors import ERROR_CODES, RuleDataError
from extractors.rules import DATA_DIR, DATA_FILES, compute_version, load_rules


@pytest.fixture
def data(tmp_path) -> Path:
    d = tmp_path / "data"
    shutil.copytree(DATA_DIR, d)
    return d


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def code_of(d: Path) -> str:
    with pytest.raises(RuleDataError) as ei:
        load_rules(d)
    assert ei.value.code in ERROR_CODES
    assert ei.value.code in str(ei.value)
    return ei.value.code


def test_shipped_data_loads_and_version_is_a_hash():
    assert re.fullmatch(r"rules-[0-9a-f]{12}", extractors.RULESET_VERSION)
    assert extractors.RULESET_VERSION == compute_version(DATA_DIR)
    assert set(p.name for p in DATA_DIR.iterdir()) >= set(DATA_FILES)


def test_version_changes_with_data(data):
    before = compute_version(data)
    edit(data / "triggers.toml", 'terms = ["pact", "pacts"]', 'terms = ["pact", "pacts", "compact"]')
    assert compute_version(data) != before
    assert load_rules(data).version == compute_version(data)


def test_missing_file(data):
    (data / "dates.toml").unlink()
    assert code_of(data) == "E100"


def test_toml_syntax_error(data):
    edit(data / "triggers.toml", 'id = "P-PACT"', 'id = "P-PACT')
    assert code_of(data) == "E101"


def test_tsv_shape_error(data):
    edit(data / "countries.tsv", "FR\tFrance\t", "FR\tFrance ")
    assert code_of(data) == "E101"


def test_unknown_key(data):
    edit(data / "triggers.toml", 'id = "P-PACT"', 'id = "P-PACT"\ntemrs = ["x"]')
    assert code_of(data) == "E102"


def test_missing_key(data):
    edit(data / "triggers.toml", 'id = "P-PACT"\nterms = ["pact", "pacts"]\n', 'terms = ["pact", "pacts"]\n')
    assert code_of(data) == "E103"


def test_wrong_type(data):
    edit(data / "triggers.toml", 'terms = ["pact", "pacts"]', 'terms = "pact"')
    assert code_of(data) == "E104"


def test_empty_pattern_group_is_an_error(data):
    edit(data / "triggers.toml", 'terms = ["pact", "pacts"]', "terms = []")
    assert code_of(data) == "E105"


def test_duplicate_rule_id(data):
    edit(data / "triggers.toml", 'id = "P-TREATY"', 'id = "P-PACT"')
    assert code_of(data) == "E106"


def test_invalid_status_value(data):
    edit(data / "triggers.toml", 'status = "suspended"', 'status = "paused"')
    assert code_of(data) == "E107"


def test_conflicting_alias(data):
    edit(data / "actors.toml", 'aliases = ["Lockheed"]', 'aliases = ["Lockheed", "Saab"]')
    assert code_of(data) == "E108"


def test_unknown_member_reference(data):
    edit(data / "actors.toml", 'members = ["Burkina Faso", "Mali", "Niger"]', 'members = ["Burkina Faso", "Mali", "Nigerr"]')
    assert code_of(data) == "E109"


def test_an_analyst_can_add_a_firm_without_python(data):
    edit(data / "actors.toml", "# ---------------------------------------------------------------- firms",
         '[[firm]]\nid = "F-TEST"\nname = "Zorvex Dynamics"\naliases = ["Zorvex"]\n')
    rules = load_rules(data)
    from extractors.engine import extract_with_rules
    import datetime as dt

    ev = extract_with_rules("Zorvex and Saab signed a joint venture agreement on Monday to build military drones.",
                            dt.date(2025, 4, 9), rules)
    assert [e.parties for e in ev] == [["Saab", "Zorvex Dynamics"]]


def test_ruleset_version_follows_the_data_files(tmp_path):
    """RULESET_VERSION is a hash of the data files: editing any of them changes it."""
    import shutil

    from extractors import RULESET_VERSION
    from extractors.rules import DATA_DIR, DATA_FILES, compute_version, load_rules

    assert RULESET_VERSION == compute_version(DATA_DIR)
    for name in DATA_FILES:
        shutil.copy(DATA_DIR / name, tmp_path / name)
    assert compute_version(tmp_path) == RULESET_VERSION
    p = tmp_path / "triggers.toml"
    p.write_text(p.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert compute_version(tmp_path) != RULESET_VERSION
    assert load_rules(tmp_path).version == compute_version(tmp_path)

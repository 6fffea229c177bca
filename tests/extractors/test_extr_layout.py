"""The extractor's layout: what its modules may import, that the rule ids its code names exist,
that the English patterns are validated data, what RULESET_VERSION covers, and the one
definition of "the same event"."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

from extractors.errors import RuleDataError
from extractors.identity import dates_compatible, same_event
from extractors.rules import (DATA_DIR, DATA_FILES, ENGINE_TRIGGER_IDS, PATTERN_IDS, SOURCE_DIR, SYNTHETIC_RULE_IDS,
                              WORD_IDS, compute_version, get_rules, load_rules, source_files, version_of)

PACKAGE = Path(__file__).resolve().parents[2] / "extractors"


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


# --------------------------------------------------------------------------- imports

def test_no_extractor_module_imports_flows_or_warehouse():
    bad = []
    for path in _modules():
        for node in ast.walk(_tree(path)):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for n in names:
                if n.split(".")[0] in ("flows", "warehouse"):
                    bad.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} imports {n}")
    assert not bad, bad


# --------------------------------------------------------------------------- rule ids named in code

_RULE_ID = re.compile(r"^[PS]-[A-Z]+$")


def test_every_trigger_id_named_in_code_exists_in_the_data():
    rules = get_rules()
    named = {}
    for path in _modules():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _RULE_ID.match(node.value):
                named.setdefault(node.value, f"{path.name}:{node.lineno}")
    assert named, "the scan found no rule id at all"
    for rid, where in named.items():
        if rid in SYNTHETIC_RULE_IDS:
            assert rid not in rules.triggers, f"{rid} is both synthetic and a trigger group"
            continue
        assert rid in rules.triggers, f"{where} names trigger {rid!r}, which triggers.toml does not define"
        assert rid in ENGINE_TRIGGER_IDS, f"{where} names {rid!r}: add it to ENGINE_TRIGGER_IDS so load_rules checks it"


def test_every_pattern_id_used_in_code_exists_in_the_data():
    """Code reads patterns as ``P.<id>`` or ``<rules>.patterns.<id>``; each id is a Patterns field
    and patterns.toml defines it."""
    used = {}
    for path in _modules():
        for node in ast.walk(_tree(path)):
            if not isinstance(node, ast.Attribute):
                continue
            base = node.value
            if (isinstance(base, ast.Name) and base.id == "P") or (isinstance(base, ast.Attribute) and base.attr == "patterns"):
                used.setdefault(node.attr, f"{path.name}:{node.lineno}")
    assert len(used) >= 40, sorted(used)
    import tomllib

    data = tomllib.loads((DATA_DIR / "patterns.toml").read_text(encoding="utf-8"))
    defined = {p["id"] for p in data["pattern"]} | {w["id"] for w in data["words"]}
    for pid, where in used.items():
        assert pid in PATTERN_IDS + WORD_IDS, f"{where} uses patterns.{pid}, not a field of Patterns"
        assert pid in defined, f"{where} uses patterns.{pid}, which patterns.toml does not define"
    unused = defined - set(used)
    assert not unused, f"patterns.toml defines ids no code uses: {sorted(unused)}"


# --------------------------------------------------------------------------- patterns.toml validation

@pytest.fixture
def data(tmp_path) -> Path:
    d = tmp_path / "data"
    shutil.copytree(DATA_DIR, d)
    return d


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _code(d: Path) -> str:
    with pytest.raises(RuleDataError) as ei:
        load_rules(d)
    return ei.value.code


def test_pattern_that_does_not_compile(data):
    _edit(data / "patterns.toml", "pattern = ['''^,\\s+(?:which|that)\\b''']", "pattern = ['''^,\\s+(?:which|that\\b''']")
    assert _code(data) == "E110"


def test_unknown_flag(data):
    _edit(data / "patterns.toml", 'flags = ["IGNORECASE"]', 'flags = ["IGNORCASE"]')
    assert _code(data) == "E110"


def test_missing_pattern_id_the_engine_refers_to(data):
    _edit(data / "patterns.toml", 'id = "which_break"', 'id = "which_break_"')
    assert _code(data) == "E102"  # an id the engine does not know is a typo


def test_removed_pattern_the_engine_refers_to(data):
    text = (data / "patterns.toml").read_text(encoding="utf-8")
    start = text.index('[[words]]\nid = "firm_bad_start"')
    (data / "patterns.toml").write_text(text[:start], encoding="utf-8")
    assert _code(data) == "E111"


def test_unknown_rule_list_in_a_pattern(data):
    _edit(data / "patterns.toml", "<<pair_nouns>>", "<<pair_noun>>")
    assert _code(data) == "E111"


def test_trigger_id_the_engine_refers_to_must_exist(data):
    _edit(data / "triggers.toml", 'id = "S-MEETING"', 'id = "S-MEETINGS"')
    assert _code(data) == "E111"


def test_pattern_needs_a_comment(data):
    p = data / "patterns.toml"
    p.write_text(re.sub(r'(id = "fronted"\n)comment = "[^\n]*"', r'\1comment = " "', p.read_text(encoding="utf-8")),
                 encoding="utf-8")
    assert _code(data) == "E107"


def test_pattern_without_comment(data):
    p = data / "patterns.toml"
    p.write_text(re.sub(r'(id = "fronted"\n)comment = "[^\n]*"\n', r"\1", p.read_text(encoding="utf-8")),
                 encoding="utf-8")
    assert _code(data) == "E103"


def test_compiled_patterns_are_compiled_once_per_rule_set():
    r = get_rules()
    assert r.patterns is get_rules().patterns
    assert r.patterns.pair_phrase.flags & re.IGNORECASE
    assert "countries" in r.patterns.pair_phrase.pattern  # filled from triggers.toml coref.pair_nouns


# --------------------------------------------------------------------------- RULESET_VERSION

def test_version_changes_with_any_data_or_source_byte_or_gazetteer():
    data = [(n, b"x") for n in DATA_FILES]
    src = [("engine.py", b"def f(): pass\n"), ("rules.py", b"")]
    base = version_of(data, src, "24.6.1")
    assert re.fullmatch(r"rules-[0-9a-f]{12}", base)
    assert version_of(data, src, "24.6.1") == base
    assert version_of([(n, b"y" if n == "patterns.toml" else b"x") for n in DATA_FILES], src, "24.6.1") != base
    assert version_of(data, [("engine.py", b"def f(): pass \n"), ("rules.py", b"")], "24.6.1") != base
    assert version_of(data, src + [("new.py", b"")], "24.6.1") != base
    assert version_of(data, src, "24.6.2") != base


def test_version_over_a_copy_of_the_sources_follows_their_bytes(tmp_path):
    src = tmp_path / "extractors"
    src.mkdir()
    for p in source_files(SOURCE_DIR):
        shutil.copy(p, src / p.name)
    assert compute_version(DATA_DIR, src) == compute_version(DATA_DIR, SOURCE_DIR)
    p = src / "merge.py"
    p.write_bytes(p.read_bytes() + b"\n# edited\n")
    assert compute_version(DATA_DIR, src) != compute_version(DATA_DIR, SOURCE_DIR)
    names = {p.name for p in source_files(SOURCE_DIR)}
    assert {"engine.py", "rules.py", "mentions.py", "identity.py", "dates.py"} <= names
    assert "eval.py" not in names  # tools that do not decide the output


def test_version_over_a_copy_of_the_data_follows_its_bytes(data):
    before = compute_version(data)
    _edit(data / "patterns.toml", '"a", "an"]', '"a", "an", "one"]')
    assert compute_version(data) != before


# --------------------------------------------------------------------------- the same event

def test_within_document_window_is_containment_only():
    assert dates_compatible("2025-06", "2025-06-23")
    assert dates_compatible("2024", "2024-11-02")
    assert dates_compatible(None, "2024")
    assert not dates_compatible("2025-06-30", "2025-07-01")  # a day apart, but neither contains the other
    assert dates_compatible("2025-06-30", "2025-07-01", 31)
    assert not dates_compatible("2025-01", "2025-06", 31)
    assert same_event("summit", ["Japan", "European Union"], "2025-07", "summit", frozenset({"European Union", "Japan"}), None)
    assert not same_event("summit", ["Japan"], None, "partnership", ["Japan"], None)


def test_warehouse_uses_the_shared_definition():
    from warehouse import identity as wi

    import extractors.identity as ei

    assert wi.parties_key is ei.parties_key and wi.date_range is ei.date_range
    assert wi.compatible("partnership", "2025-01", "2025-03-15")  # 43 days: within 92
    assert not wi.compatible("summit", "2025-01", "2025-03-15")  # not within 31

"""The layout's rules, read from the code: only warehouse/ speaks SQL, extractors/ stands alone, no import cycles."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("flows", "extractors", "warehouse")

# SQL as a statement, not as English: "select the feeds from the registry" is prose, while
# "SELECT count(*) FROM runs" and "select * from run_errors" are SQL.
SQL_PATTERNS = [re.compile(p, re.I) for p in (
    r"\bselect\s+(?:distinct\s+)?(?:\*|[\w.()*]+(?:\s+as\s+\w+)?\s*(?:,|\bfrom\b))",
    r"\binsert\s+(?:or\s+\w+\s+)?into\s+\w+",
    r"\bupdate\s+\w+\s+set\s+\w+\s*=",
    r"\bdelete\s+from\s+\w+",
    r"\bcreate\s+(?:or\s+replace\s+)?(?:temp\s+|temporary\s+)?(?:table|view|macro)\s+\w+",
)]


def _modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def _name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.AST, module: str) -> set[str]:
    """Every module this one imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                base = ".".join(module.split(".")[:-node.level] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return found


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string literal; an f-string with its placeholders read as ``x``."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            out.append((node.lineno, "".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append((node.lineno, node.value))
    return out


def _parsed(package: str) -> list[tuple[str, Path, ast.AST]]:
    return [(_name(p), p, ast.parse(p.read_text(encoding="utf-8"))) for p in _modules(package)]


@pytest.mark.parametrize("package", ["flows", "extractors"])
def test_only_warehouse_imports_duckdb(package):
    offenders = [str(p.relative_to(REPO)) for _, p, tree in _parsed(package)
                 if any(m == "duckdb" or m.startswith("duckdb.") for m in _imports(tree, _name(p)))]
    assert offenders == [], f"import duckdb outside warehouse/: {offenders}"


@pytest.mark.parametrize("package", ["flows", "extractors"])
def test_only_warehouse_holds_sql(package):
    offenders = [f"{p.relative_to(REPO)}:{line}: {text.strip()[:60]!r}"
                 for _, p, tree in _parsed(package) for line, text in _strings(tree)
                 if any(rx.search(text) for rx in SQL_PATTERNS)]
    assert offenders == [], "SQL outside warehouse/ (give it a named function there):\n" + "\n".join(offenders)


@pytest.mark.parametrize("text", [
    "SELECT count(*) FROM runs", "select * from run_errors where run_id = 'x'",
    "SELECT a.article_id FROM articles a", "SELECT x FROM articles JOIN _ids USING (article_id)",
    "INSERT INTO events (event_id) VALUES (?)", "UPDATE runs SET status = 'abandoned'",
    "DELETE FROM feed_state WHERE feed_name = ?", "CREATE TABLE t (a INT)",
])
def test_the_sql_detector_sees_sql(text):
    assert any(rx.search(text) for rx in SQL_PATTERNS)


@pytest.mark.parametrize("text", [
    "select the feeds from the registry", "One SQL statement (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE).",
    "update the state when a feed answers", "a summit's date is set from the mentions",
])
def test_the_sql_detector_leaves_prose_alone(text):
    assert not any(rx.search(text) for rx in SQL_PATTERNS)


def test_extractors_import_nothing_of_flows_or_warehouse():
    offenders = sorted({f"{p.relative_to(REPO)} imports {m}" for _, p, tree in _parsed("extractors")
                        for m in _imports(tree, _name(p)) if m.split(".")[0] in ("flows", "warehouse")})
    assert offenders == []


def test_warehouse_imports_nothing_of_flows():
    offenders = sorted({f"{p.relative_to(REPO)} imports {m}" for _, p, tree in _parsed("warehouse")
                        for m in _imports(tree, _name(p)) if m.split(".")[0] == "flows"})
    assert offenders == []


def test_no_import_cycles():
    modules = {name: tree for package in PACKAGES for name, _, tree in _parsed(package)}
    graph: dict[str, set[str]] = {}
    for name, tree in modules.items():
        # `from flows.alerts import routing` names the module flows.alerts.routing; a package's
        # own __init__ is not counted as an arrow to its sub-modules.
        graph[name] = {m for m in _imports(tree, name) if m in modules and m != name
                       and not name.startswith(m + ".")}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_every_module_says_what_it_is_for():
    missing = [str(p.relative_to(REPO)) for package in PACKAGES for _, p, tree in _parsed(package)
               if not (ast.get_docstring(tree) or "").strip()]
    assert missing == [], f"modules without a docstring: {missing}"


def test_the_readme_layout_names_every_module():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index("### Layout")
    section = readme[start:readme.index("\n## ", start)]
    named = set(re.findall(r"`([\w./-]+)`", section))
    unnamed = []
    for package in ("flows", "warehouse"):
        for path in _modules(package):
            rel = path.relative_to(REPO)
            if path.stem in ("__init__", "__main__"):
                continue
            if not ({path.stem, path.name, str(rel)} & named):
                unnamed.append(str(rel))
    assert unnamed == [], f"the README's Layout section does not name: {unnamed}"

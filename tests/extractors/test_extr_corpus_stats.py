"""eval/README.md's corpus tables are what eval/corpus_stats.py counts in eval/corpus.jsonl."""

from __future__ import annotations

import json
import sys

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "eval"))
try:
    import corpus_stats
finally:
    sys.path.pop(0)


def test_the_readme_tables_are_counted_from_the_corpus():
    block = corpus_stats.render(corpus_stats.load(), json.loads(corpus_stats.SPLIT.read_text())["sites"])
    readme = corpus_stats.README.read_text(encoding="utf-8")
    assert f"{corpus_stats.BEGIN}\n{block}\n{corpus_stats.END}" in readme, (
        "eval/README.md's corpus tables are stale: run python eval/corpus_stats.py --write")


def test_each_half_row_adds_up_to_the_corpus():
    docs = corpus_stats.load()
    block = corpus_stats.render(docs, {})
    rows = [line.split("|")[1:-1] for line in block.splitlines() if line.startswith("| tune") or line.startswith("| validation")]
    assert sum(int(r[1]) for r in rows) == len(docs)
    assert sum(int(r[3]) for r in rows) == sum(len(d["events"]) for d in docs)

"""``python -m extractors.eval GOLD.jsonl [--details] [--json]``: score the extractor on a gold file."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from . import RULESET_VERSION, extract
from .scoring import format_report, load_gold, score


def run(path: str) -> tuple:
    docs = load_gold(path)
    pred = {}
    for d in docs:
        pub = dt.date.fromisoformat(d["published"]) if d.get("published") else None
        pred[d["id"]] = extract(d["text"], pub)
    return docs, pred, score(docs, pred)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m extractors.eval", description=__doc__)
    ap.add_argument("gold")
    ap.add_argument("--details", action="store_true", help="list false positives, misses and attribute mismatches")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    a = ap.parse_args(argv)
    _, _, rep = run(a.gold)
    if a.json:
        print(json.dumps(rep.to_dict(), indent=2, ensure_ascii=False))
        return 0
    print(f"ruleset {RULESET_VERSION}")
    print(format_report(rep))
    if a.details:
        print_details(rep)
    return 0


def print_details(rep) -> None:
    """Per-document false positives, misses and attribute mismatches."""
    for d in rep.details:
        print(f"\n== {d['id']}")
        for e in d["fp"]:
            print("  FP ", e)
        for e in d["fn"]:
            print("  FN ", e)
        for m in d["mismatch"]:
            print("  ~  gold", m["gold"], "\n     pred", m["pred"])


if __name__ == "__main__":
    sys.exit(main())

"""Scoring the extractor on annotated corpora, split by half: the library behind ``defwatch eval``.

The blind corpus (``eval/corpus.jsonl``) records for every passage the half it belongs to:
``tune`` (rules are written looking at its errors) or ``validation`` (scored, never read for
errors). Figures are reported per half; the floors CI holds come from ``eval/baseline.json``.

``python -m extractors.eval GOLD.jsonl [--split tune] [--details] [--json]`` scores one file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Iterable

from .pubdate import PubDate
from .scoring import Report, format_report, load_gold, score

__all__ = ["evaluate", "evaluate_docs", "EvalResult", "reliability", "format_reliability", "corpus_hash",
           "figures", "GOALS", "check_goals", "print_details", "SPLITS", "DetailsRefused"]

SPLITS = ("tune", "validation")
#: the bar issue 18 sets on the validation half
GOALS = {"overall_f1": 0.85, "overall_precision": 0.88, "type_f1_min": 0.80,
         "status_accuracy": 0.85, "date_accuracy": 0.85}
#: confidence bins of the reliability table (lower bounds)
BINS = (0.0, 0.5, 0.65, 0.8, 0.9)


class DetailsRefused(ValueError):
    """Asked for the errors of the validation half, which nobody reads."""


@dataclass
class EvalResult:
    name: str
    docs: list[dict]
    report: Report


def predict(docs: Iterable[dict], rules_only: bool = False) -> dict[str, list]:
    """Each document's events; ``rules_only``: what the rules propose, before the candidate filter."""
    from .engine import extract, extract_candidates

    fn = extract_candidates if rules_only else extract
    return {d["id"]: fn(d["text"], PubDate.parse(d.get("published"))) for d in docs}


def evaluate_docs(docs: list[dict], split: str | None = None, rules_only: bool = False) -> dict[str, EvalResult]:
    """Score every half the documents record (``tune``, ``validation``), only ``split`` when
    given, or all of them as ``all`` when they record none."""
    if split is not None:
        groups = {split: [d for d in docs if d.get("split") == split]}
        if not groups[split]:
            raise ValueError(f"no passage is in the {split!r} half")
    else:
        halves = sorted({half for d in docs if (half := d.get("split"))}, key=lambda h: (h not in SPLITS, h))
        groups = {h: [d for d in docs if d.get("split") == h] for h in halves} or {"all": docs}
    return {name: EvalResult(name, group, score(group, predict(group, rules_only))) for name, group in groups.items()}


def evaluate(path: str | Path, rules_only: bool = False) -> dict[str, EvalResult]:
    """``evaluate_docs`` over a gold file."""
    return evaluate_docs(load_gold(path), rules_only=rules_only)


def corpus_hash(path: str | Path) -> str:
    """sha256 of the corpus file's bytes: a baseline holds only for the corpus it was measured on."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def figures(report: Report) -> dict[str, Any]:
    """The figures a baseline pins (all 'higher is better')."""
    o = report.overall
    out: dict[str, Any] = {"overall_precision": round(o.precision, 4), "overall_recall": round(o.recall, 4),
                           "overall_f1": round(o.f1, 4)}
    for t, s in report.by_type.items():
        out[f"{t}_f1"] = round(s.f1, 4)
        out[f"{t}_precision"] = round(s.precision, 4)
    for attr in ("status", "date", "location"):
        acc = report.accuracy(attr)
        out[f"{attr}_accuracy"] = None if acc is None else round(acc, 4)
    return out


def check_goals(report: Report) -> list[tuple[str, float | None, float, bool]]:
    """(goal, value, bar, met) for each of GOALS."""
    f = figures(report)
    type_min = min(s.f1 for s in report.by_type.values())
    vals = {"overall_f1": f["overall_f1"], "overall_precision": f["overall_precision"], "type_f1_min": round(type_min, 4),
            "status_accuracy": f["status_accuracy"], "date_accuracy": f["date_accuracy"]}
    return [(k, vals[k], bar, vals[k] is not None and vals[k] >= bar - 1e-9) for k, bar in GOALS.items()]


def reliability(report: Report) -> list[dict]:
    """Of the predictions in each confidence bin, the share that were right."""
    rows = []
    edges = list(BINS) + [1.0000001]
    for lo, hi in zip(edges, edges[1:]):
        hits = [ok for c, ok in report.outcomes if lo <= c < hi]
        rows.append({"from": lo, "to": min(hi, 1.0), "events": len(hits),
                     "right": sum(hits), "share": round(sum(hits) / len(hits), 3) if hits else None})
    high = [ok for c, ok in report.outcomes if c >= 0.8]
    rows.append({"from": 0.8, "to": 1.0, "events": len(high), "right": sum(high),
                 "share": round(sum(high) / len(high), 3) if high else None, "summary": True})
    return rows


def format_reliability(rows: list[dict]) -> str:
    lines = [f"{'confidence':<12} {'events':>6} {'right':>6} {'share':>6}"]
    for r in rows:
        label = f">= {r['from']:.2f}" if r.get("summary") else f"{r['from']:.2f}-{r['to']:.2f}"
        share = "-" if r["share"] is None else f"{r['share']:.3f}"
        lines.append(f"{label:<12} {r['events']:6d} {r['right']:6d} {share:>6}")
    return "\n".join(lines)


def print_details(report: Report, out=None) -> None:
    """Per-document false positives, misses and attribute mismatches."""
    out = out or sys.stdout
    for d in report.details:
        print(f"\n== {d['id']}", file=out)
        for e in d["fp"]:
            print("  FP ", e, file=out)
        for e in d["fn"]:
            print("  FN ", e, file=out)
        for m in d["mismatch"]:
            print("  ~  gold", m["gold"], "\n     pred", m["pred"], file=out)


def main(argv: list[str] | None = None) -> int:
    from . import RULESET_VERSION

    ap = argparse.ArgumentParser(prog="python -m extractors.eval", description=__doc__)
    ap.add_argument("gold")
    ap.add_argument("--split", choices=SPLITS, help="score one half of a split corpus")
    ap.add_argument("--details", action="store_true", help="list false positives, misses and mismatches (not on validation)")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    a = ap.parse_args(argv)
    if a.details and a.split != "tune" and any(d.get("split") == "validation" for d in load_gold(a.gold)):
        print("--details reads errors: only with --split tune (validation is scored, never read)", file=sys.stderr)
        return 2
    rep = next(iter(evaluate_docs(load_gold(a.gold), a.split).values())).report
    if a.json:
        print(json.dumps(rep.to_dict(), indent=2, ensure_ascii=False))
        return 0
    print(f"ruleset {RULESET_VERSION}")
    print(format_report(rep))
    if a.details:
        print_details(rep)
    return 0


if __name__ == "__main__":
    sys.exit(main())


def format_summary(results: dict[str, EvalResult], label_width: int = 12) -> str:
    """One row per half (or file): documents, gold events, P/R/F1 overall and by type, attribute
    accuracy. Fits 80 columns."""
    lines = [f"{'':<{label_width}} {'docs':>4} {'gold':>4} {'P':>5} {'R':>5} {'F1':>5} "
             f"{'partF1':>6} {'summF1':>6} {'status':>6} {'date':>5} {'place':>5}"]
    for name, r in results.items():
        rep = r.report
        o = rep.overall
        gold = sum(len(d.get("events", [])) for d in r.docs)

        def acc(attr: str, rep=rep) -> str:  # bound now: called within this iteration
            v = rep.accuracy(attr)
            return "  -  " if v is None else f"{v:.3f}"

        lines.append(f"{name[:label_width]:<{label_width}} {len(r.docs):4d} {gold:4d} {o.precision:5.3f} {o.recall:5.3f} "
                     f"{o.f1:5.3f} {rep.by_type['partnership'].f1:6.3f} {rep.by_type['summit'].f1:6.3f} "
                     f"{acc('status'):>6} {acc('date'):>5} {acc('location'):>5}")
    return "\n".join(lines)


def format_goals(report: Report) -> str:
    rows = []
    for goal, val, bar, met in check_goals(report):
        v = "n/a" if val is None else f"{val:.3f}"
        rows.append(f"  {goal.replace('_', ' '):<18} {v:>6}  (goal >= {bar:.2f})  {'met' if met else 'NOT MET'}")
    return "\n".join(rows)


BASELINE = Path(__file__).resolve().parents[1] / "eval" / "baseline.json"


def write_baseline(path: str | Path, results: dict[str, EvalResult], out: Path = BASELINE) -> Path:
    """Pin the figures CI holds: any later change may not lower them without rewriting this file."""
    from . import RULESET_VERSION

    data = {"corpus": Path(path).name, "corpus_sha256": corpus_hash(path), "ruleset": RULESET_VERSION,
            "halves": {k: {"docs": len(r.docs), **figures(r.report)} for k, r in results.items()}}
    out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return out

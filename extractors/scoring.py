"""Scoring extracted events against a gold file, as docs/EVENTS.md "Gold files and scoring" specifies.

An extracted event matches a gold event when the type and the set of parties are equal
(after alias normalisation). Matching is one-to-one per document; among several gold
events with the same type and parties the one agreeing on date, then status, then
location is preferred. Precision, recall and F1 are counted over events; for matched
events status, date and location accuracy are reported.
"""

from __future__ import annotations

import json
import unicodedata
# asdict is re-exported for callers that want the raw numbers of a Report
from dataclasses import asdict as asdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Iterable, Mapping

from .model import Event
from .rules import get_rules

__all__ = ["load_gold", "score", "format_report", "Report", "TypeScore", "normalise_party", "party_key", "normalise_location"]

TYPES = ("partnership", "summit")


def load_gold(path: str | Path) -> list[dict]:
    """Read a gold JSON Lines file; blank lines are skipped."""
    docs = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                doc = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not JSON: {exc}") from None
            if not isinstance(doc, dict) or "id" not in doc or "events" not in doc:
                raise ValueError(f"{path}:{n}: a gold document needs 'id' and 'events'")
            docs.append(doc)
    return docs


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.replace("’", "'").casefold().split())


def normalise_party(name: str) -> str:
    return _fold(get_rules().canonical(name))


def party_key(parties) -> frozenset:
    """The set of parties compared by scoring: names after alias normalisation, and a bloc that is
    defined by its members (the Quad, AUKUS, the Alliance of Sahel States) as those members, so
    that "the Quad's summit" and "the summit of Australia, India, Japan and the US" agree."""
    rules = get_rules()
    out = set()
    for p in parties:
        canon = rules.canonical(p)
        members = rules.bloc_members.get(canon)
        out |= {_fold(m) for m in members} if members else {_fold(canon)}
    return frozenset(out)


def normalise_location(location: str | None) -> str | None:
    if location is None:
        return None
    f = _fold(location)
    return f[4:] if f.startswith("the ") and f != "the hague" else f


def _as_dict(event: Event | Mapping[str, Any]) -> dict:
    if isinstance(event, Event):
        return event.to_dict()
    return dict(event)


@dataclass
class TypeScore:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else (1.0 if not self.fn else 0.0)

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


@dataclass
class Report:
    #: keyed by event type; an event that gives none is scored under None
    by_type: dict[str | None, TypeScore] = field(default_factory=lambda: {t: TypeScore() for t in TYPES})
    matched: int = 0
    status_ok: int = 0
    date_ok: int = 0
    location_ok: int = 0
    docs: int = 0
    ignored: int = 0  # predictions that matched a gold document's `ignore` list: counted neither way
    details: list[dict] = field(default_factory=list)  # per document: fp, fn, attribute mismatches
    # one (confidence, correct) pair per scored prediction, for reliability tables
    outcomes: list[tuple[float, bool]] = field(default_factory=list)

    @property
    def overall(self) -> TypeScore:
        t = TypeScore()
        for s in self.by_type.values():
            t.tp += s.tp
            t.fp += s.fp
            t.fn += s.fn
        return t

    def accuracy(self, attr: str) -> float | None:
        if not self.matched:
            return None
        return getattr(self, f"{attr}_ok") / self.matched

    def to_dict(self) -> dict:
        return {
            "docs": self.docs,
            "overall": self.overall.to_dict(),
            "by_type": {k: v.to_dict() for k, v in self.by_type.items()},
            "matched": self.matched,
            "status_accuracy": _r(self.accuracy("status")),
            "date_accuracy": _r(self.accuracy("date")),
            "location_accuracy": _r(self.accuracy("location")),
            "details": self.details,
        }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def score(gold_docs: Iterable[Mapping[str, Any]], predicted: Mapping[str, Iterable[Event | Mapping[str, Any]]]) -> Report:
    """Score ``predicted`` (doc id -> events) against gold documents."""
    rep = Report()
    for doc in gold_docs:
        rep.docs += 1
        did = doc["id"]
        gold = [dict(e) for e in doc.get("events", [])]
        pred = [_as_dict(e) for e in predicted.get(did, [])]
        borderline = [dict(e) for e in doc.get("ignore", []) or []]
        for e in gold + pred + borderline:
            e["_key"] = (e.get("type"), party_key(e.get("parties", [])))
        used = [False] * len(gold)
        det = {"id": did, "fp": [], "fn": [], "mismatch": []}
        for p in pred:
            best, best_score = None, -1
            for gi, g in enumerate(gold):
                if used[gi] or g["_key"] != p["_key"]:
                    continue
                sc = (4 if g.get("date") == p.get("date") else 0) + (2 if g.get("status") == p.get("status") else 0) + (
                    1 if normalise_location(g.get("location")) == normalise_location(p.get("location")) else 0)
                if sc > best_score:
                    best, best_score = gi, sc
            ts = rep.by_type.setdefault(p.get("type"), TypeScore())
            if best is None and any(b["_key"] == p["_key"] for b in borderline):
                rep.ignored += 1  # docs/EVENTS.md: predicting a borderline event counts neither way
                continue
            rep.outcomes.append((float(p.get("confidence") or 0.0), best is not None))
            if best is None:
                ts.fp += 1
                det["fp"].append(_brief(p))
                continue
            used[best] = True
            g = gold[best]
            ts.tp += 1
            rep.matched += 1
            ok_s = g.get("status") == p.get("status")
            ok_d = g.get("date") == p.get("date")
            ok_l = normalise_location(g.get("location")) == normalise_location(p.get("location"))
            rep.status_ok += ok_s
            rep.date_ok += ok_d
            rep.location_ok += ok_l
            if not (ok_s and ok_d and ok_l):
                det["mismatch"].append({"gold": _brief(g), "pred": _brief(p)})
        for gi, g in enumerate(gold):
            if not used[gi]:
                rep.by_type.setdefault(g.get("type"), TypeScore()).fn += 1
                det["fn"].append(_brief(g))
        if det["fp"] or det["fn"] or det["mismatch"]:
            rep.details.append(det)
    return rep


def _brief(event: Mapping[str, Any]) -> dict:
    return {k: event.get(k) for k in ("type", "parties", "status", "date", "location")}


def format_report(report: Report) -> str:
    lines = [f"{'type':<12} {'P':>6} {'R':>6} {'F1':>6} {'tp':>4} {'fp':>4} {'fn':>4}"]
    rows = list(report.by_type.items()) + [("overall", report.overall)]
    for name, s in rows:
        lines.append(f"{name:<12} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f} {s.tp:4d} {s.fp:4d} {s.fn:4d}")
    lines.append("")
    lines.append(f"matched events: {report.matched} (documents: {report.docs})")
    for attr in ("status", "date", "location"):
        acc = report.accuracy(attr)
        lines.append(f"{attr + ' accuracy':<20} " + ("n/a" if acc is None else f"{acc:6.3f} ({getattr(report, attr + '_ok')}/{report.matched})"))
    return "\n".join(lines)


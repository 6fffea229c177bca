"""The scoring module: matching by type + party set after alias normalisation, one-to-one."""

from __future__ import annotations

import json

from extractors import Event
from extractors.scoring import format_report, load_gold, score


def ev(type_, parties, status=None, date=None, location=None):
    return {"type": type_, "parties": parties, "status": status, "date": date, "location": location, "evidence": "x"}


def test_alias_normalisation_and_one_to_one_matching():
    gold = [{"id": "a", "events": [ev("partnership", ["United Kingdom", "Japan"], "signed", "2020"),
                                   ev("partnership", ["United Kingdom", "Japan"], "extended", "2024")]}]
    pred = {"a": [ev("partnership", ["Japan", "UK"], "extended", "2024"),
                  ev("partnership", ["Britain", "Japan"], "signed", "2020"),
                  ev("partnership", ["Britain", "Japan"], "signed", "2020")]}
    rep = score(gold, pred)
    o = rep.overall
    assert (o.tp, o.fp, o.fn) == (2, 1, 0)
    assert rep.accuracy("date") == 1.0 and rep.accuracy("status") == 1.0


def test_types_and_attribute_accuracy():
    gold = [{"id": "a", "events": [ev("summit", ["NATO"], "held", "2025-06-25", "The Hague")]},
            {"id": "b", "events": []}]
    pred = {"a": [ev("summit", ["NATO"], "planned", "2025-06-25", "the hague")],
            "b": [ev("partnership", ["France", "Chad"])]}
    rep = score(gold, pred)
    assert rep.by_type["summit"].f1 == 1.0
    assert rep.by_type["partnership"].fp == 1
    assert rep.accuracy("status") == 0.0 and rep.accuracy("location") == 1.0
    d = rep.to_dict()
    json.dumps(d)
    assert d["overall"]["tp"] == 1 and d["overall"]["fp"] == 1
    text = format_report(rep)
    for word in ("partnership", "summit", "overall", "status accuracy", "date accuracy", "location accuracy"):
        assert word in text


def test_accepts_event_objects_and_gold_file(tmp_path):
    p = tmp_path / "g.jsonl"
    p.write_text(json.dumps({"id": "x", "published": "2025-01-01", "text": "t",
                             "events": [ev("partnership", ["Chile", "Peru"])]}) + "\n\n", encoding="utf-8")
    gold = load_gold(p)
    e = Event(type="partnership", parties=["Chile", "Peru"], status=None, date=None, date_text=None, location=None,
              evidence="t", evidence_start=0, evidence_end=1, confidence=0.5, rule="r")
    assert score(gold, {"x": [e]}).overall.f1 == 1.0
    assert score(gold, {}).overall.recall == 0.0

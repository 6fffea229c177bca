"""`defwatch extract` and `defwatch eval` as a user runs them: partial publication dates, bad
rows named by line, one-line errors, and the rule that validation's errors are never shown."""

from __future__ import annotations

import json

from tests.support.cli import defwatch

SEED_LIKE = ("EU and Canada to sign defence pact\n"
             "The European Union and Canada plan to sign a security and defence partnership next month, "
             "officials said on Monday.\n")


def test_extract_jsonl_accepts_partial_dates_and_names_a_bad_line(tmp_path):
    docs = tmp_path / "docs.jsonl"
    docs.write_text("\n".join([
        json.dumps({"id": "day", "published": "2025-06-10", "text": SEED_LIKE}),
        json.dumps({"id": "month", "published": "2025-06", "text": SEED_LIKE}),
        json.dumps({"id": "none", "published": None, "text": SEED_LIKE}),
        json.dumps({"id": "bad-date", "published": "2025-13", "text": SEED_LIKE}),
        "{not json",
        json.dumps({"id": "last", "text": SEED_LIKE}),
    ]) + "\n")
    out = defwatch("extract", "--jsonl", str(docs))
    assert out.returncode == 1
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["day", "month", "none", "last"]
    by_id = {r["id"]: r["events"] for r in rows}
    assert [(e["type"], e["parties"], e["status"], e["date"]) for e in by_id["day"]] == [
        ("partnership", ["Canada", "European Union"], "planned", "2025-07")]
    # "next month" resolves against a month-only date too; with no date it cannot resolve
    assert [e["date"] for e in by_id["month"]] == ["2025-07"]
    assert [e["date"] for e in by_id["none"]] == [None]
    errors = out.stderr.strip().splitlines()
    assert errors == [
        f"error: {docs}, line 4: \"published\" '2025-13' is not a date; use YYYY-MM-DD, YYYY-MM or YYYY. "
        "Skipped; the other lines go on.",
        f"error: {docs}, line 5: not JSON (Expecting property name enclosed in double quotes). "
        "Skipped; the other lines go on.",
    ]


def test_extract_published_month_only(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text(SEED_LIKE)
    out = defwatch("extract", str(f), "--published", "2025-06")
    assert out.returncode == 0, out.stderr
    assert [json.loads(line)["date"] for line in out.stdout.splitlines()] == ["2025-07"]
    bad = defwatch("extract", str(f), "--published", "June 2025")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: --published 'June 2025' is not a date; use YYYY-MM-DD, YYYY-MM or YYYY."


def test_eval_missing_and_malformed_files_get_one_line(tmp_path):
    out = defwatch("eval", str(tmp_path / "nope.jsonl"))
    assert out.returncode == 2
    assert out.stderr.strip() == f"error: {tmp_path / 'nope.jsonl'}: no such file. Give a gold file: defwatch eval FILE.jsonl"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "x", "events": []}\nnot json\n')
    out = defwatch("eval", str(bad))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().startswith(f"error: {bad}:2: not JSON")


def test_eval_refuses_to_show_validation_errors(tmp_path):
    gold = tmp_path / "g.jsonl"
    doc = {"id": "v1", "split": "validation", "published": "2025-06-10", "text": SEED_LIKE, "events": []}
    gold.write_text(json.dumps(doc) + "\n" + json.dumps({**doc, "id": "t1", "split": "tune"}) + "\n")
    out = defwatch("eval", str(gold), "--details")
    assert out.returncode == 2
    assert out.stderr.strip() == "error: --details lists errors, and validation's are never read: add --split tune."
    tune = defwatch("eval", str(gold), "--details", "--split", "tune")
    assert tune.returncode == 0, tune.stderr
    assert "== t1" in tune.stdout and "v1" not in tune.stdout
    halves = defwatch("eval", str(gold))
    assert halves.returncode == 0
    lines = halves.stdout.splitlines()
    assert any(line.startswith("tune ") for line in lines) and any(line.startswith("validation ") for line in lines)
    assert "goals on validation" in halves.stdout
    assert max(len(line) for line in lines) <= 80

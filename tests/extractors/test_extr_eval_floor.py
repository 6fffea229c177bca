"""The accuracy floor CI holds, from eval/baseline.json (figures and the corpus hash), not from
constants here: a change may raise the figures (rewrite the baseline with `defwatch eval
--write-baseline` to pin them), never lower them without rewriting the baseline and saying why in
its commit. The candidate filter must be what training on `tune` alone gives."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from extractors import eval as ev
from extractors.filter import MODEL_PATH
from extractors.rules import get_rules
from extractors.scoring import load_gold
from tests.conftest import REPO

CORPUS = REPO / "eval" / "corpus.jsonl"
BASELINE = json.loads((REPO / "eval" / "baseline.json").read_text())
EPS = 1e-9


def test_the_baseline_was_measured_on_this_corpus():
    assert ev.corpus_hash(CORPUS) == BASELINE["corpus_sha256"], (
        "eval/corpus.jsonl changed since eval/baseline.json was written: rerun `defwatch eval "
        "--write-baseline` and say in the commit why the corpus changed")


@pytest.fixture(scope="module")
def results():
    return ev.evaluate(CORPUS)


@pytest.mark.parametrize("half", ["tune", "validation"])
def test_no_figure_falls_below_the_baseline(results, half):
    now = ev.figures(results[half].report)
    pinned = BASELINE["halves"][half]
    lower = {k: (now[k], v) for k, v in pinned.items() if k != "docs" and v is not None and (now[k] or 0) < v - EPS}
    assert lower == {}, f"{half}: figures below eval/baseline.json (now, pinned): {lower}"
    assert len(results[half].docs) == pinned["docs"]


def test_the_split_is_recorded_and_never_moves():
    docs = load_gold(CORPUS)
    split = json.loads((REPO / "eval" / "SPLIT.json").read_text())
    assert {d["id"]: d["split"] for d in docs} == split["docs"]
    from urllib.parse import urlsplit  # noqa: F401  (the rule itself lives in eval/build_corpus.py)
    sys.path.insert(0, str(REPO / "eval"))
    try:
        from build_corpus import site
    finally:
        sys.path.pop(0)
    for d in docs:  # whole source sites are in one half
        assert split["sites"][site(d["source_url"])] == d["split"], d["id"]
    tune = sum(1 for d in docs if d["split"] == "tune")
    assert 0.55 <= tune / len(docs) <= 0.65


def test_the_filter_was_trained_on_tune_alone_with_todays_rules():
    meta = json.loads(MODEL_PATH.read_text())["meta"]
    tune_ids = sorted(d["id"] for d in load_gold(CORPUS) if d["split"] == "tune")
    import hashlib

    assert meta["tune_ids_sha256"] == hashlib.sha256("\n".join(tune_ids).encode()).hexdigest()
    assert meta["tune_docs"] == len(tune_ids)
    assert meta["rules_version"] == get_rules().candidates_version, (
        "the rules changed since the filter was trained: run .venv/bin/python eval/train_filter.py")


def test_retraining_gives_the_shipped_filter():
    out = subprocess.run([sys.executable, str(REPO / "eval" / "train_filter.py"), "--check"], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == "filter.json is what training gives"

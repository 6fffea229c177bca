"""Train the candidate filter on the TUNE half of the blind corpus (never on validation).

    .venv/bin/python eval/train_filter.py [--check]

Writes extractors/data/filter.json: a logistic regression (scikit-learn, L2) over the features
extractors.filter.features() gives each candidate the rules propose on `tune`, labelled by the
gold annotations (a candidate matching a gold event by type and parties is right; one matching
only a document's `ignore` list is left out). Regularisation is chosen on out-of-fold predictions
(5 folds grouped by document, lowest log loss) and the scores are calibrated on them (Platt
scaling, folded into the weights), so the shipped model's confidence means what it says on data
it was not fitted to. The filter drops candidates only if a threshold beats keeping them all out
of fold by MIN_GAIN F1; otherwise (threshold 0) it only scores them. Deterministic: --check
retrains and fails if the file would change.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from sklearn.feature_extraction import DictVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from extractors import filter as flt  # noqa: E402
from extractors.engine import extract_candidates  # noqa: E402
from extractors.pubdate import PubDate  # noqa: E402
from extractors.rules import get_rules  # noqa: E402
from extractors.scoring import load_gold, party_key  # noqa: E402

CORPUS = ROOT / "eval" / "corpus.jsonl"
FOLDS = 5
CS = (0.03, 0.1, 0.3, 1.0, 3.0)
MIN_DF = 2
MIN_GAIN = 0.01


def _key(e) -> tuple:
    d = e if isinstance(e, dict) else e.to_dict()
    return d["type"], party_key(d["parties"])


def candidates(docs):
    """(features, label, doc index) per candidate, and the number of gold events per document."""
    kinds = get_rules().actor_kind
    rows, golds = [], []
    for di, d in enumerate(docs):
        evs = extract_candidates(d["text"], PubDate.parse(d.get("published")))
        gold = [_key(g) for g in d["events"]]
        border = {_key(g) for g in d.get("ignore", [])}
        used = [False] * len(gold)
        golds.append(len(gold))
        for ev in evs:
            k = _key(ev)
            hit = next((i for i, g in enumerate(gold) if not used[i] and g == k), None)
            if hit is None and k in border:
                continue  # borderline: counts neither way, teaches nothing
            if hit is not None:
                used[hit] = True
            rows.append((flt.features(ev, d["text"], len(evs), kinds), hit is not None, di))
    return rows, golds


def f1_at(p, y, n_gold, t):
    keep = p >= t
    tp = int((keep & y).sum())
    fp = int((keep & ~y).sum())
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / n_gold if n_gold else 1.0
    return (2 * prec * rec / (prec + rec) if prec + rec else 0.0), prec, rec


def train(docs) -> dict:
    rows, golds = candidates(docs)
    n_gold = sum(golds)
    # features seen in fewer than MIN_DF documents are dropped: they can only memorise
    df: dict[str, set] = {}
    for f, _, di in rows:
        for k in f:
            df.setdefault(k, set()).add(di)
    keep = {k for k, s in df.items() if len(s) >= MIN_DF}
    X_dicts = [{k: v for k, v in f.items() if k in keep} for f, _, _ in rows]
    y = np.array([lab for _, lab, _ in rows], dtype=bool)
    groups = np.array([di for _, _, di in rows])
    vec = DictVectorizer(sort=True)
    X = vec.fit_transform(X_dicts)
    fold_of_doc = {di: int(hashlib.sha256(docs[di]["id"].encode()).hexdigest(), 16) % FOLDS for di in set(groups.tolist())}
    fold = np.array([fold_of_doc[g] for g in groups])

    def oof_scores(C):
        z = np.zeros(len(y))
        for k in range(FOLDS):
            tr, te = fold != k, fold == k
            m = LogisticRegression(C=C, max_iter=5000, class_weight=None)
            m.fit(X[tr], y[tr])
            z[te] = m.decision_function(X[te])
        return z

    # regularisation: the C whose out-of-fold scores predict best (log loss): the filter's first
    # job is a confidence that means what it says
    best = None
    for C in CS:
        z = oof_scores(C)
        p = np.clip(1 / (1 + np.exp(-z)), 1e-6, 1 - 1e-6)
        loss = float(-np.mean(y * np.log(p) + (~y) * np.log(1 - p)))
        if best is None or loss < best[0] - 1e-9:
            best = (loss, C, z)
    loss, C, z = best
    # Platt scaling on the out-of-fold scores, folded into the final model's weights
    platt = LogisticRegression(C=1e6, max_iter=5000).fit(z.reshape(-1, 1), y)
    a, b = float(platt.coef_[0][0]), float(platt.intercept_[0])
    p_cal = 1 / (1 + np.exp(-(a * z + b)))
    # Dropping candidates: only when it pays out of fold by more than the noise of a few hundred
    # candidates (MIN_GAIN in F1); otherwise the filter only scores, and alert rules choose their
    # own min_confidence from the reliability table.
    keep_all = f1_at(p_cal, y, n_gold, 0.0)
    t_best, key_best = 0.0, (round(keep_all[0], 4), round(keep_all[1], 4))
    for t in np.arange(0.2, 0.81, 0.01):
        f, pr, _ = f1_at(p_cal, y, n_gold, t)
        key = (round(f, 4), round(pr, 4))
        if key > key_best and f >= keep_all[0] + MIN_GAIN:
            t_best, key_best = float(round(t, 2)), key
    f_oof, p_oof, r_oof = f1_at(p_cal, y, n_gold, t_best)
    final = LogisticRegression(C=C, max_iter=5000).fit(X, y)
    names = vec.get_feature_names_out()
    weights = {str(n): round(float(w) * a, 6) for n, w in zip(names, final.coef_[0]) if abs(w * a) >= 1e-6}
    tune_ids = sorted(d["id"] for d in docs)
    return {
        "schema": flt.SCHEMA,
        "intercept": round(float(final.intercept_[0]) * a + b, 6),
        "threshold": t_best,
        "weights": dict(sorted(weights.items())),
        "meta": {
            "trained_on": "eval/corpus.jsonl, split tune",
            "tune_docs": len(docs),
            "tune_ids_sha256": hashlib.sha256("\n".join(tune_ids).encode()).hexdigest(),
            "candidates": len(rows),
            "candidates_right": int(y.sum()),
            "gold_events": n_gold,
            "C": C,
            "platt": [round(a, 6), round(b, 6)],
            "out_of_fold": {"f1": round(f_oof, 4), "precision": round(p_oof, 4), "recall": round(r_oof, 4),
                            "log_loss": round(loss, 4), "keep_all_f1": round(keep_all[0], 4)},
            "rules_version": get_rules().candidates_version,
        },
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="fail if retraining would change the shipped file")
    a = ap.parse_args(argv)
    docs = [d for d in load_gold(CORPUS) if d.get("split") == "tune"]
    assert docs and all(d["split"] == "tune" for d in docs)
    model = train(docs)
    text = json.dumps(model, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    if a.check:
        same = flt.MODEL_PATH.exists() and flt.MODEL_PATH.read_text(encoding="utf-8") == text
        print("filter.json is what training gives" if same else "filter.json differs from a retrain: run eval/train_filter.py")
        return 0 if same else 1
    flt.MODEL_PATH.write_text(text, encoding="utf-8")
    m = model["meta"]
    print(f"trained on {m['tune_docs']} tune passages: {m['candidates']} candidates ({m['candidates_right']} right), "
          f"C={m['C']}, threshold {model['threshold']}; out of fold F1 {m['out_of_fold']['f1']} "
          f"P {m['out_of_fold']['precision']} R {m['out_of_fold']['recall']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The project's sample corpus split for honest tuning (no text is copied here).

``samples/expected-events.jsonl`` is split by document id: the TUNE set holds ids whose
first letter is a-m, the HELD-OUT set ids starting n-z (or anything else). Rules may be
improved on the TUNE set's errors; the HELD-OUT figure is only looked at to report.
"""

from __future__ import annotations

from pathlib import Path

from extractors.eval import evaluate_docs
from extractors.scoring import Report, load_gold

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "expected-events.jsonl"


def is_tune(doc_id: str) -> bool:
    c = doc_id[:1].lower()
    return "a" <= c <= "m"


def split(path: Path = SAMPLES) -> tuple[list[dict], list[dict]]:
    docs = load_gold(path)
    return [d for d in docs if is_tune(d["id"])], [d for d in docs if not is_tune(d["id"])]


def score_docs(docs: list[dict]) -> Report:
    """The one gold-scoring loop (``extractors.eval.evaluate_docs``) over documents without halves."""
    return evaluate_docs(docs)["all"].report


if __name__ == "__main__":  # python -m tests.extractors._samples [tune|held|all]
    import sys

    from extractors.scoring import format_report

    which = sys.argv[1] if len(sys.argv) > 1 else "tune"
    tune, held = split()
    docs = {"tune": tune, "held": held, "all": tune + held}[which]
    rep = score_docs(docs)
    print(f"{which}: {len(docs)} documents")
    print(format_report(rep))
    if "--details" in sys.argv:
        from extractors.eval import print_details

        print_details(rep)

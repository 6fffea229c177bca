"""The corpus's make-up as counted from eval/corpus.jsonl: the tables of eval/README.md.

    python eval/corpus_stats.py            # print the Markdown block
    python eval/corpus_stats.py --write    # replace the block between the markers in eval/README.md

Counts only (passages, negatives, events, publication-date precision, regions, formats, statuses,
phenomena): it reads no passage text, so it can run over both halves without anyone reading
`validation`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus.jsonl"
README = HERE / "README.md"
SPLIT = HERE / "SPLIT.json"
BEGIN = "<!-- corpus-stats: written by eval/corpus_stats.py, do not edit by hand -->"
END = "<!-- /corpus-stats -->"
HALVES = ("tune", "validation")
TOP_PHENOMENA = 10


def load(path: Path = CORPUS) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _precision(published: str | None) -> str:
    if not published:
        return "none"
    return "day" if len(published) == 10 else "month"


def _words(counter: Counter, top: int | None = None) -> str:
    items = counter.most_common(top)
    return ", ".join(f"{name.replace('_', ' ')} {n}" for name, n in items)


def render(docs: list[dict], sites: dict[str, str] | None = None) -> str:
    """The Markdown block: one row per half, then the make-up of the whole corpus; ``sites`` is
    SPLIT.json's site -> half map."""
    lines = ["| half | passages | negatives | gold events | borderline (`ignore`) | published: day / month / none |",
             "| --- | --- | --- | --- | --- | --- |"]
    for half in HALVES:
        part = [d for d in docs if d.get("split") == half]
        pub = Counter(_precision(d.get("published")) for d in part)
        lines.append(f"| {half} | {len(part)} | {sum(1 for d in part if not d['events'])} | "
                     f"{sum(len(d['events']) for d in part)} | {sum(len(d.get('ignore') or []) for d in part)} | "
                     f"{pub['day']} / {pub['month']} / {pub['none']} |")
    n = len(docs)
    negatives = sum(1 for d in docs if not d["events"])
    words = sum(len(d["text"].split()) for d in docs)
    sizes = [len(d["text"].split()) for d in docs]
    events = Counter(f"{e['type']} {e['status']}" for d in docs for e in d["events"])
    lines += [
        "",
        f"- Passages: {n} ({min(sizes)}–{max(sizes)} words, mean {words / n:.0f}), from "
        f"{len(sites or {})} source sites ({_words(Counter((sites or {}).values()))}), one half per site; "
        f"{len({d['id'].rsplit('-', 1)[0] for d in docs})} annotators' parts.",
        f"- Negatives (`events: []`, mostly near-misses using the vocabulary): {negatives} of {n} "
        f"({100 * negatives / n:.0f} %).",
        f"- Regions: {_words(Counter(d['region'] for d in docs))}.",
        f"- Genres: {_words(Counter(d['genre'] for d in docs))}.",
        f"- Formats (a passage can have several): {_words(Counter(f for d in docs for f in d['formats']))}.",
        f"- Events: {_words(events)}.",
        f"- Phenomena tagged most: {_words(Counter(p for d in docs for p in d['phenomena']), TOP_PHENOMENA)}.",
    ]
    return "\n".join(lines)


def write(block: str, readme: Path = README) -> None:
    text = readme.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{readme.name}: the markers {BEGIN!r} and {END!r} are missing; add them around the tables")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{BEGIN}\n{block}\n{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help="replace the block in eval/README.md")
    a = ap.parse_args(argv)
    block = render(load(), json.loads(SPLIT.read_text(encoding="utf-8"))["sites"])
    if a.write:
        write(block)
        print(f"wrote the corpus tables into {README}")
    else:
        print(block)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Assemble the blind corpus from the annotators' part files, and split it ONCE by source.

    python eval/build_corpus.py            # writes eval/corpus.jsonl and eval/SPLIT.json

The split is made the first time a passage is seen and never changes afterwards: ids already in
eval/SPLIT.json keep their half. Whole source sites (registered host of `source_url`) go to one
half, so no outlet's style or story is in both; sites are taken in the order of a hash of their
name and assigned to `tune` until it holds 60 % of the passages, the rest to `validation`.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
PARTS = HERE / "parts"
CORPUS = HERE / "corpus.jsonl"
SPLIT = HERE / "SPLIT.json"
TUNE_SHARE = 0.60
FIELDS = ("id", "split", "published", "source_url", "genre", "region", "formats", "phenomena",
          "text", "events", "ignore", "note")


def site(url: str) -> str:
    host = (urlsplit(url).hostname or url).lower()
    for prefix in ("www.", "amp.", "m.", "edition."):
        if host.startswith(prefix):
            host = host[len(prefix):]
    return host


def _order(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def main() -> int:
    sys.path.insert(0, str(HERE))
    from validate_part import check

    docs, bad = [], 0
    for part in sorted(PARTS.glob("*.jsonl")):
        n, errs = check(str(part))
        for e in errs:
            print(e, file=sys.stderr)
        bad += len(errs)
        docs += [json.loads(line) for line in part.read_text(encoding="utf-8").splitlines() if line.strip()]
    if bad:
        print(f"{bad} problems in the part files: fix them first", file=sys.stderr)
        return 1
    ids = [d["id"] for d in docs]
    if len(ids) != len(set(ids)):
        print("duplicate ids across parts", file=sys.stderr)
        return 1
    recorded = json.loads(SPLIT.read_text()) if SPLIT.exists() else {"sites": {}, "docs": {}}
    site_of = {d["id"]: site(d["source_url"]) for d in docs}
    # sites already split keep their half; new sites are assigned in hash order
    counts = {"tune": 0, "validation": 0}
    for d in docs:
        s = recorded["sites"].get(site_of[d["id"]])
        if s:
            counts[s] += 1
    for s in sorted({site_of[i] for i in ids} - set(recorded["sites"]), key=_order):
        n = sum(1 for i in ids if site_of[i] == s)
        total = counts["tune"] + counts["validation"]
        half = "tune" if counts["tune"] < TUNE_SHARE * (total + n) - n / 2 else "validation"
        recorded["sites"][s] = half
        counts[half] += n
    for d in docs:
        d["split"] = recorded["sites"][site_of[d["id"]]]
        d.setdefault("ignore", [])
        old = recorded["docs"].get(d["id"])
        if old and old != d["split"]:  # never happens unless SPLIT.json was edited by hand
            print(f"{d['id']}: recorded in {old}, now {d['split']}: refusing to move it", file=sys.stderr)
            return 1
        recorded["docs"][d["id"]] = d["split"]
    docs.sort(key=lambda d: d["id"])
    with CORPUS.open("w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps({k: d[k] for k in FIELDS}, ensure_ascii=False) + "\n")
    SPLIT.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    neg = {h: sum(1 for d in docs if d["split"] == h and not d["events"]) for h in counts}
    for h in ("tune", "validation"):
        ev = sum(len(d["events"]) for d in docs if d["split"] == h)
        print(f"{h:<11} {counts[h]:4d} passages, {neg[h]:3d} negatives, {ev:4d} events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
